import { defineParams, u32Fields } from '../params-struct';

/**
 * The `Params` struct of `vptqColumnWgsl`, one record per column (see `planVptqPass` for the values). Offsets are
 * in the units of their buffer: codebook offsets in vec4 words, index offsets in u32, output offsets in f32.
 */
export const vptqColumnParams = defineParams('vptq-column', u32Fields([
  'rows',
  'cols',
  'column',
  'blockStart',
  'blockEnd',
  'vectorRows',
  'numCentroids',
  'codebookOffset',
  'numResidualCentroids',
  'residualCodebookOffset',
  'partSize',
  'localColumn',
  'indexOffset',
  'residualIndexOffset',
  'flagOffset',
  'residualOutputOffset',
  'sliceEntries',
  'searchSlices',
] as const));

/** The values of one column's record. */
export type VptqColumnParams = Parameters<typeof vptqColumnParams.pack>[0];
