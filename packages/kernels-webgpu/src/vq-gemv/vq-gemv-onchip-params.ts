import { packStruct } from './vq-gemv-params';
import type { StructField, StructValues } from './vq-gemv-params';
import { maxVqGemvProjections } from './vq-gemv.wgsl';

/** Words of the on-chip layer table: two vec4u per layer of a stack (see {@link vqGemvOnChipParamsFields}). */
export const vqGemvOnChipTableWords = 8 * maxVqGemvProjections;

/**
 * The `Params` struct of the on-chip VQ-GEMV (`vqGemvOnChipBlocksWgsl`, `vqGemvOnChipWordsWgsl`) in declaration
 * order. The table holds per layer (first vector-row, index word, centroid word, residual word), (first output,
 * outputs, bias offset, 0).
 */
export const vqGemvOnChipParamsFields = [
  ['rowWords', 'u32'],
  ['fieldsPerRow', 'u32'],
  ['fieldsPerSplit', 'u32'],
  ['splits', 'u32'],
  ['tokens', 'u32'],
  ['rows', 'u32'],
  ['items', 'u32'],
  ['xStride', 'u32'],
  ['xLayerStride', 'u32'],
  ['yStride', 'u32'],
  ['partialStride', 'u32'],
  ['betaBlocks', 'u32'],
  ['inFeatures', 'u32'],
  ['epsilon', 'f32'],
  ['table', `array<vec4u, ${vqGemvOnChipTableWords / 4}>`],
] as const satisfies readonly StructField[];

/** The `Params` struct of the prepare pass (`vqGemvPrepareXWgsl`): per layer (perm offset, norm offset, 0, 0). */
export const vqGemvPrepareXParamsFields = [
  ['inFeatures', 'u32'],
  ['tokens', 'u32'],
  ['xStride', 'u32'],
  ['blocks', 'u32'],
  ['upOffset', 'u32'],
  ['table', `array<vec4u, ${maxVqGemvProjections}>`],
] as const satisfies readonly StructField[];

/** Uniform values of the on-chip main pass. */
export type VqGemvOnChipParams = StructValues<typeof vqGemvOnChipParamsFields>;

/** Uniform values of the prepare pass. */
export type VqGemvPrepareXParams = StructValues<typeof vqGemvPrepareXParamsFields>;

/** The bytes of an on-chip main-pass `Params` uniform. */
export function packVqGemvOnChipParams(values: VqGemvOnChipParams): ArrayBuffer {
  return packStruct(vqGemvOnChipParamsFields, values);
}

/** The bytes of a prepare-pass `Params` uniform. */
export function packVqGemvPrepareXParams(values: VqGemvPrepareXParams): ArrayBuffer {
  return packStruct(vqGemvPrepareXParamsFields, values);
}
