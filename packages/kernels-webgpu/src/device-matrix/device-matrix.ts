import { createBufferWithData, createUniformBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, flatGrid } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { firstNonFiniteWgsl, permuteHessianWgsl, scaleMatrixWgsl } from './device-matrix.wgsl';

const workgroupSize = 256;
/** The `order` entry of a dead column in {@link createPermuteHessianDispatch}. */
export const deadColumn = 0xffffffff;
/** The untouched value of {@link createFirstNonFiniteDispatch}'s result: every value was finite. */
export const allFinite = 0xffffffff;

function grid(fn: string, device: GPUDevice, count: number): [number, number, number] {
  return flatGrid(fn, device, Math.ceil(count / workgroupSize));
}

/**
 * Records the prepared Hessian's gather (see `permuteHessianWgsl`): `destination[p, q]` =
 * `source[order p, order q]·scale` off the diagonal, `diagonal[p]` on it, zeros in the rows and columns whose
 * `order` entry is {@link deadColumn}.
 *
 * @param buffers - `source` and `destination` `[n, n]` f32, `order` `[n]` u32, `diagonal` `[n]` f32.
 */
export async function createPermuteHessianDispatch(
  device: GPUDevice,
  buffers: { readonly source: BufferBinding; readonly order: BufferBinding; readonly diagonal: BufferBinding; readonly destination: BufferBinding },
  shape: { readonly size: number; readonly scale: number },
): Promise<KernelDispatch> {
  const label = 'permute-hessian';
  const pipeline = await getComputePipeline(device, { label, code: permuteHessianWgsl, constants: { workgroupSize } });
  const params = createUniformBuffer(device, label, packParams([['u32', shape.size], ['f32', shape.scale]]));
  const bindings = [buffers.source, buffers.order, buffers.diagonal, buffers.destination, params];
  return new ComputeStep(device, label, pipeline, bindings, grid('createPermuteHessianDispatch', device, shape.size * shape.size), [params]);
}

/**
 * Records `destination` = D·`source`·D (`mode` 'both-sides') or the column loop's factors U·D⁻¹ of an upper
 * triangular `source` (`mode` 'factors': d_c/U_cc on the diagonal, U_cj/d_j right of it, zeros below).
 *
 * @param buffers - `source` and `destination` `[n, n]` f32, `scale` `[n]` f32 (D).
 */
export async function createScaleMatrixDispatch(
  device: GPUDevice,
  buffers: { readonly source: BufferBinding; readonly scale: BufferBinding; readonly destination: BufferBinding },
  shape: { readonly size: number; readonly mode: 'both-sides' | 'factors' },
): Promise<KernelDispatch> {
  const label = 'scale-matrix';
  const pipeline = await getComputePipeline(device, { label, code: scaleMatrixWgsl, constants: { workgroupSize } });
  const params = createUniformBuffer(device, label, packParams([['u32', shape.size], ['u32', shape.mode === 'factors' ? 1 : 0]]));
  const bindings = [buffers.source, buffers.scale, buffers.destination, params];
  return new ComputeStep(device, label, pipeline, bindings, grid('createScaleMatrixDispatch', device, shape.size * shape.size), [params]);
}

/**
 * Records the search for the lowest index of `values` (`[count]` f32) that is NaN or ±Infinity: `result` (one
 * u32, {@link allFinite} on entry) receives it, or keeps {@link allFinite}.
 */
export async function createFirstNonFiniteDispatch(
  device: GPUDevice,
  buffers: { readonly values: BufferBinding; readonly result: BufferBinding },
  count: number,
): Promise<KernelDispatch> {
  const label = 'first-non-finite';
  const pipeline = await getComputePipeline(device, { label, code: firstNonFiniteWgsl, constants: { workgroupSize } });
  const params = createUniformBuffer(device, label, packParams([['u32', count]]));
  return new ComputeStep(device, label, pipeline, [buffers.values, buffers.result, params], grid('createFirstNonFiniteDispatch', device, count), [params]);
}

/** A one-word buffer holding {@link allFinite}, for {@link createFirstNonFiniteDispatch}'s result. */
export function createNonFiniteResult(device: GPUDevice, label: string): GPUBuffer {
  return createBufferWithData(device, label, new Uint32Array([allFinite]));
}
