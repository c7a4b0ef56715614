import { createUniformBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, DispatchSequence, flatGrid } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { uploadWeights } from '../gpu-weights';
import type { GpuWeights, UploadWeightsOptions, WeightFormat } from '../gpu-weights';
import { getComputePipeline } from '../pipeline-cache';
import { runKernel } from '../run-kernel';
import { assertCount } from '../validate';
import { embeddingWgsl } from './embedding.wgsl';

const label = 'embedding';
const workgroupSize = 256;

/** Buffers of {@link createEmbeddingDispatch}. */
export interface EmbeddingBuffers {
  /** `[count]` u32 token ids. */
  readonly tokens: BufferBinding;
  /** `[vocabulary, cols]` table from {@link uploadWeights} (f32 or f16, any number of windows). */
  readonly table: GpuWeights;
  /** `[count, cols]` f32. */
  readonly output: BufferBinding;
}

/**
 * Records the gather of `count` table rows into `output` (one dispatch per table window).
 *
 * @throws {RangeError} when count is not a positive integer or the grid exceeds the device limit.
 */
export async function createEmbeddingDispatch(device: GPUDevice, buffers: EmbeddingBuffers, count: number): Promise<KernelDispatch> {
  const fn = 'createEmbeddingDispatch';
  assertCount(fn, 'count', count);
  const { table } = buffers;
  const pipeline = await getComputePipeline(device, { label, code: embeddingWgsl, constants: { workgroupSize, f16Table: table.format === 'f16' } });
  const grid = flatGrid(fn, device, Math.ceil((count * table.cols) / workgroupSize));
  const steps = table.windows.map((window, index) => {
    const params = createUniformBuffer(
      device,
      label,
      packParams([
        ['u32', count],
        ['u32', table.cols],
        ['u32', table.rowStride],
        ['u32', window.rowStart],
        ['u32', window.rows],
        ['u32', table.rows],
        ['u32', index === 0 ? 1 : 0],
      ]),
    );
    return new ComputeStep(device, label, pipeline, [buffers.tokens, window.binding, buffers.output, params], grid, [params]);
  });
  return new DispatchSequence(label, steps);
}

/**
 * Embedding lookup on the GPU (one-shot).
 *
 * @param table - `[vocabulary, cols]`: `Float32Array` for `'f32'`, `Uint16Array` f16 bit patterns for `'f16'`.
 * @param tokens - `[count]` ids; ids ≥ vocabulary give zero rows.
 * @returns `[count, cols]` f32.
 */
export async function embedding(
  device: GPUDevice,
  table: Float32Array | Uint16Array,
  shape: { readonly rows: number; readonly cols: number; readonly format: WeightFormat },
  tokens: Uint32Array,
  options: UploadWeightsOptions = {},
): Promise<Float32Array> {
  if (!(tokens instanceof Uint32Array) || tokens.length === 0) {
    throw new RangeError(`embedding: tokens must be a non-empty Uint32Array (got ${String(tokens?.length)} ids)`);
  }
  const uploaded = uploadWeights(device, table, shape, { ...options, label });
  try {
    const [output] = await runKernel(device, label, [tokens], [tokens.length * shape.cols * 4], ([tokensBuffer], [outputBuffer]) =>
      createEmbeddingDispatch(device, { tokens: tokensBuffer, table: uploaded, output: outputBuffer }, tokens.length),
    );
    return new Float32Array(output);
  } finally {
    uploaded.destroy();
  }
}
