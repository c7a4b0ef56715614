import { createUniformBuffer, getPlaceholderBuffer } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, flatGrid } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { defineParams, u32Fields } from '../params-struct';
import { assertCount } from '../validate';
import { proxyDeltaWgsl } from './proxy-delta.wgsl';

const label = 'proxy-delta';

/** The `Params` struct of `proxyDeltaWgsl`, named once. */
export const proxyDeltaParams = defineParams(label, u32Fields(['count', 'rows', 'cols'] as const));

/** Buffers of {@link createProxyDeltaDispatch}, all f32 in the `[cols, rows]` layout, quantization order. */
export interface ProxyDeltaBuffers {
  /** `[cols, rows]` quantized weight, normalized units. */
  readonly quantized: BufferBinding;
  /** `[cols, rows]` weight as given. */
  readonly original: BufferBinding;
  /** `[2, cols]` scale then bias per position, or undefined without norm. */
  readonly norm: BufferBinding | undefined;
  /** `[cols, rows]` output ΔW. */
  readonly delta: BufferBinding;
}

/**
 * Records ΔW = (q·scale + bias) − W elementwise, the operand of the proxy error's quadratic form (its CPU twin is
 * the de-normalization in `@vptq/codebook`'s proxy error, compared through the pass engine's `measure`).
 *
 * @throws {RangeError} when rows or cols is not a positive integer or the grid exceeds the device limit.
 */
export async function createProxyDeltaDispatch(
  device: GPUDevice,
  buffers: ProxyDeltaBuffers,
  shape: { readonly rows: number; readonly cols: number },
): Promise<KernelDispatch> {
  const fn = 'createProxyDeltaDispatch';
  const rows = assertCount(fn, 'shape.rows', shape.rows);
  const cols = assertCount(fn, 'shape.cols', shape.cols);
  const count = rows * cols;
  const pipeline = await getComputePipeline(device, { label, code: proxyDeltaWgsl, constants: { hasNorm: buffers.norm !== undefined } });
  const params = createUniformBuffer(device, label, proxyDeltaParams.pack({ count, rows, cols }));
  const bindings = [buffers.quantized, buffers.original, buffers.norm ?? getPlaceholderBuffer(device), buffers.delta, params];
  return new ComputeStep(device, label, pipeline, bindings, flatGrid(fn, device, Math.ceil(count / 256)), [params]);
}
