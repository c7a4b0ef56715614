import { packParams } from '../buffers';
import type { ParamField } from '../buffers';
import { maxVqGemvProjections } from './vq-gemv.wgsl';

/** One field of a WGSL uniform struct: its name and WGSL type, both spelled as in the shader. */
export type StructField = readonly [name: string, type: 'u32' | 'f32' | `array<vec4u, ${number}>`];

/** The values of a struct described by `Fields`, by field name: numbers for scalars, a Uint32Array for `array<vec4u, n>` (4n words). */
export type StructValues<Fields extends readonly StructField[]> = {
  readonly [Field in Fields[number] as Field[0]]: Field[1] extends 'u32' | 'f32' ? number : Uint32Array;
};

/** Words of the layer table: three vec4u per layer of a stack (see {@link vqGemvParamsFields}). */
export const vqGemvTableWords = 12 * maxVqGemvProjections;

/**
 * The `Params` struct of the fused VQ-GEMV main pass (`vqGemvWgsl`, `vqGemvSubgroupsWgsl`), field by field in
 * declaration order. The table holds, per layer of the stack, three vec4u: (first tile, index word, centroid
 * word, residual word), (perm offset, norm offset, first output, outputs), (bias offset, rows, 0, 0).
 */
export const vqGemvParamsFields = [
  ['rowWords', 'u32'],
  ['fieldsPerRow', 'u32'],
  ['columnOffset', 'u32'],
  ['fieldsPerSplit', 'u32'],
  ['splits', 'u32'],
  ['slot', 'u32'],
  ['xStride', 'u32'],
  ['yStride', 'u32'],
  ['tokens', 'u32'],
  ['inFeatures', 'u32'],
  ['projections', 'u32'],
  ['partialStride', 'u32'],
  ['groupCentroidWords', 'u32'],
  ['groupResidualWords', 'u32'],
  ['upOffset', 'u32'],
  ['epsilon', 'f32'],
  ['table', `array<vec4u, ${vqGemvTableWords / 4}>`],
] as const satisfies readonly StructField[];

/** The `Params` struct of the split-K reduction (`vqGemvReduceWgsl`), in declaration order. */
export const vqGemvReduceParamsFields = [
  ['outputs', 'u32'],
  ['tokens', 'u32'],
  ['slots', 'u32'],
  ['yStride', 'u32'],
] as const satisfies readonly StructField[];

/** Uniform values of one main pass of the fused VQ-GEMV. */
export type VqGemvParams = StructValues<typeof vqGemvParamsFields>;

/** Uniform values of the split-K reduction. */
export type VqGemvReduceParams = StructValues<typeof vqGemvReduceParamsFields>;

/** The bytes of a main-pass `Params` uniform. */
export function packVqGemvParams(values: VqGemvParams): ArrayBuffer {
  return packStruct(vqGemvParamsFields, values);
}

/** The bytes of a reduction `Params` uniform. */
export function packVqGemvReduceParams(values: VqGemvReduceParams): ArrayBuffer {
  return packStruct(vqGemvReduceParamsFields, values);
}

/**
 * Packs `values` in the order of `fields`: scalars take 4 bytes, an `array<vec4u, n>` takes 16n bytes and starts
 * on a 16-byte boundary (WGSL's uniform layout; the gap is zero).
 */
export function packStruct<Fields extends readonly StructField[]>(fields: Fields, values: StructValues<Fields>): ArrayBuffer {
  const scalars: ParamField[] = [];
  for (const [name, type] of fields) {
    const value = (values as Record<string, number | Uint32Array>)[name];
    if (type === 'u32' || type === 'f32') {
      scalars.push([type, value as number]);
      continue;
    }
    const words = 4 * Number(/, (\d+)>$/.exec(type)?.[1]);
    if (!(value instanceof Uint32Array) || value.length !== words) throw new RangeError(`packStruct: ${name} must be a Uint32Array of ${words} words`);
    while (scalars.length % 4 !== 0) scalars.push(['u32', 0]);
    for (const word of value) scalars.push(['u32', word]);
  }
  return packParams(scalars);
}
