import type { VptqLayerConfig } from '../vptq-layer-config';

/**
 * Test helper: the spec's own verification layer (§5): G = 2 groups with a residual, outliers, perm, norm and a
 * bias; out = 20 with v = 8 leaves 4 padding rows, and the 18-bit fields (ib 8 + rb 10: K 256, Kr 1024) straddle
 * words.
 */
export const specLayerConfig: VptqLayerConfig = {
  inFeatures: 20,
  outFeatures: 20,
  vectorLength: 8,
  numCentroids: 256,
  numResidualCentroids: 1024,
  outlierVectorLength: 4,
  numOutlierCentroids: 16,
  groupNum: 2,
  groupSize: 7,
  outlierSize: 6,
  enableNorm: true,
  enablePerm: true,
  indicesAsFloat: false,
  bias: true,
};
