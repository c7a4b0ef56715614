import { describe, expect, it } from 'vitest';

import { findReferenceMisreads } from './find-reference-misreads';
import type { VptqLayerConfig } from './vptq-layer-config';

const published: VptqLayerConfig = {
  inFeatures: 4096,
  outFeatures: 4096,
  vectorLength: 8,
  numCentroids: 65536,
  numResidualCentroids: 256,
  outlierVectorLength: 0,
  numOutlierCentroids: 0,
  groupNum: 1,
  groupSize: 4096,
  outlierSize: 0,
  enableNorm: true,
  enablePerm: true,
  indicesAsFloat: false,
  bias: false,
};

const codes = (config: VptqLayerConfig) => findReferenceMisreads(config).map((misread) => misread.code);

describe('findReferenceMisreads', () => {
  it('finds nothing in the layouts the reference writes', () => {
    expect(codes(published)).toEqual([]);
    expect(codes({ ...published, numCentroids: 4096, numResidualCentroids: 0, vectorLength: 6 })).toEqual([]);
    // Several groups are fine without a residual, or with Kr = K.
    expect(codes({ ...published, groupNum: 4, groupSize: 1024, numResidualCentroids: 0 })).toEqual([]);
    expect(codes({ ...published, groupNum: 4, groupSize: 1024, numCentroids: 256 })).toEqual([]);
  });

  it('flags a residual codebook larger than the main one (torch fallback masks with ib bits)', () => {
    const misreads = findReferenceMisreads({ ...published, numCentroids: 16, numResidualCentroids: 256 });
    expect(misreads.map((misread) => misread.code)).toEqual(['residual-wider-than-main']);
    expect(misreads[0].message).toMatch(/Kr = 256\) is larger than the main one \(K = 16\).*to 4 bits/);
  });

  it('flags packed rows of 16 bits or fewer, and not 17', () => {
    const tiny = { ...published, inFeatures: 4, groupSize: 4, numCentroids: 16, numResidualCentroids: 0, enablePerm: false };
    expect(codes(tiny)).toEqual(['short-packed-rows']); // 4 fields of 4 bits
    expect(codes({ ...tiny, inFeatures: 2, groupSize: 2, numCentroids: 256 })).toEqual(['short-packed-rows']); // 2 of 8 = 16
    expect(codes({ ...tiny, inFeatures: 17, groupSize: 17, numCentroids: 2 })).toEqual([]); // 17 of 1 bit
  });

  it('flags several groups whose residual codebooks differ in size from the main ones (CUDA offset)', () => {
    expect(codes({ ...published, groupNum: 2, groupSize: 2048 })).toEqual(['grouped-residual-offset']);
    expect(codes({ ...published, groupNum: 2, groupSize: 2048, numCentroids: 16 })).toEqual(['residual-wider-than-main', 'grouped-residual-offset']);
  });

  it('rejects an invalid config', () => {
    expect(() => findReferenceMisreads({ ...published, numCentroids: 3 })).toThrow(RangeError);
  });
});
