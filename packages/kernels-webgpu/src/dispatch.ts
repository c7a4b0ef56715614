import { toBufferBinding } from './buffers';
import type { BufferBinding } from './buffers';

/** A GPU object a dispatch frees with itself (buffers, textures). */
export interface Destroyable {
  destroy(): void;
}
import { GpuValidationError, WebGpuError } from './errors';

/**
 * A recorded kernel invocation: pipelines, bind groups and uniform buffers created once, encoded into as many
 * compute passes as needed (a decoder records one per layer and encodes them all into one submit per token).
 */
export interface KernelDispatch {
  /** The kernel name, used as the label of everything it creates. */
  readonly label: string;
  /** Records the kernel's dispatches (one or more) into `pass`. */
  encode(pass: GPUComputePassEncoder): void;
  /** Frees the buffers this dispatch owns (uniforms, scratch); the caller's buffers are left alone. */
  destroy(): void;
}

/** One pipeline + bind group + workgroup grid; the building block of every {@link KernelDispatch}. */
export class ComputeStep implements KernelDispatch {
  readonly label: string;
  private readonly pipeline: GPUComputePipeline;
  private readonly bindGroup: GPUBindGroup;
  private readonly workgroups: readonly [number, number, number];
  private readonly owned: readonly Destroyable[];

  /**
   * @param bindings - one buffer (range) per `@binding(i)`, in binding order.
   * @param workgroups - the grid, already checked with {@link checkWorkgroups}.
   * @param owned - buffers destroyed by {@link ComputeStep.destroy}.
   */
  constructor(
    device: GPUDevice,
    label: string,
    pipeline: GPUComputePipeline,
    bindings: readonly BufferBinding[],
    workgroups: readonly [number, number, number],
    owned: readonly Destroyable[] = [],
  ) {
    this.label = label;
    this.pipeline = pipeline;
    this.workgroups = workgroups;
    this.owned = owned;
    this.bindGroup = device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: bindings.map((binding, index) => ({
        binding: index,
        resource: toBufferBinding(binding),
      })),
    });
  }

  encode(pass: GPUComputePassEncoder): void {
    if (this.workgroups[0] === 0 || this.workgroups[1] === 0 || this.workgroups[2] === 0) return;
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, this.bindGroup);
    pass.dispatchWorkgroups(this.workgroups[0], this.workgroups[1], this.workgroups[2]);
  }

  destroy(): void {
    for (const buffer of this.owned) buffer.destroy();
  }
}

/** A {@link KernelDispatch} made of several in order (e.g. split-K partials, then their reduction). */
export class DispatchSequence implements KernelDispatch {
  readonly label: string;
  private readonly steps: readonly KernelDispatch[];
  private readonly owned: readonly Destroyable[];

  constructor(label: string, steps: readonly KernelDispatch[], owned: readonly Destroyable[] = []) {
    this.label = label;
    this.steps = steps;
    this.owned = owned;
  }

  encode(pass: GPUComputePassEncoder): void {
    for (const step of this.steps) step.encode(pass);
  }

  destroy(): void {
    for (const step of this.steps) step.destroy();
    for (const buffer of this.owned) buffer.destroy();
  }
}

/**
 * Checks a workgroup grid against `maxComputeWorkgroupsPerDimension`.
 *
 * @throws {RangeError} naming the limit when a dimension exceeds it.
 */
export function checkWorkgroups(
  fn: string,
  device: { readonly limits: { readonly maxComputeWorkgroupsPerDimension: number } },
  x: number,
  y = 1,
  z = 1,
): [number, number, number] {
  const limit = device.limits.maxComputeWorkgroupsPerDimension;
  const largest = Math.max(x, y, z);
  if (largest > limit) {
    throw new RangeError(
      `${fn}: the dispatch needs ${x} × ${y} × ${z} workgroups, above the device's maxComputeWorkgroupsPerDimension of ${limit}`,
    );
  }
  return [x, y, z];
}

/**
 * A 2-D grid `[x, y]` with x·y ≥ `count` for kernels that flatten their workgroup id as `id.x + id.y·nx`, so
 * that element-wise kernels are not limited to 65 535 workgroups.
 *
 * @throws {RangeError} naming `maxComputeWorkgroupsPerDimension` when even the 2-D grid is too small.
 */
export function flatGrid(fn: string, device: GPUDevice, count: number): [number, number, number] {
  const limit = device.limits.maxComputeWorkgroupsPerDimension;
  if (count <= limit) return [count, 1, 1];
  const y = Math.ceil(count / limit);
  return checkWorkgroups(fn, device, Math.ceil(count / y), y);
}

/**
 * Runs `action` inside `validation` and `out-of-memory` error scopes and throws the first captured error.
 *
 * @throws {GpuValidationError} with code `VPTQ_GPU_VALIDATION` or `VPTQ_GPU_OUT_OF_MEMORY`.
 */
export async function captureGpuErrors<T>(device: GPUDevice, label: string, action: () => T | Promise<T>): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T | undefined;
  let failed = false;
  let failure: unknown;
  try {
    result = await action();
  } catch (error) {
    failed = true;
    failure = error;
  }
  const validation = await device.popErrorScope();
  const memory = await device.popErrorScope();
  // This package's own errors (a shader compile error, say) are already specific; a bare failure is better
  // explained by the GPU error it caused, which then keeps the failure as its cause.
  if (failed && failure instanceof WebGpuError) throw failure;
  const cause = failed ? { cause: failure } : undefined;
  if (validation) throw new GpuValidationError(label, 'validation', [validation.message], cause);
  if (memory) throw new GpuValidationError(label, 'out-of-memory', [memory.message], cause);
  if (failed) throw failure;
  return result as T;
}

/** Encodes `dispatches` into one compute pass and submits it (no readback, no wait). */
export function submitDispatches(device: GPUDevice, label: string, dispatches: readonly KernelDispatch[]): void {
  const encoder = device.createCommandEncoder({ label });
  const pass = encoder.beginComputePass({ label });
  for (const dispatch of dispatches) dispatch.encode(pass);
  pass.end();
  device.queue.submit([encoder.finish()]);
}
