import type { DeviceMatrix } from '@vptq/hessian';

import { describe } from '../validate';

/**
 * An `[n, n]` f32 row-major matrix in a GPU buffer: the WebGPU engines' {@link DeviceMatrix}, which
 * `prepareHessianGpu` returns and the column loop's and the refit's sessions read where they are (no host copy).
 */
export class GpuMatrix implements DeviceMatrix {
  readonly device: GPUDevice;
  readonly buffer: GPUBuffer;
  readonly size: number;
  private destroyed = false;

  constructor(device: GPUDevice, buffer: GPUBuffer, size: number) {
    this.device = device;
    this.buffer = buffer;
    this.size = size;
  }

  /** Whether {@link destroy} was called. */
  get isDestroyed(): boolean {
    return this.destroyed;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.buffer.destroy();
  }
}

/**
 * The buffer of a device matrix that a kernel on `device` may read as `[size, size]` f32.
 *
 * @throws {TypeError} when `value` is not a device matrix of `device`, or was destroyed.
 * @throws {RangeError} when its size is not `size` or its buffer is too small.
 */
export function gpuMatrixBuffer(fn: string, name: string, value: DeviceMatrix, device: GPUDevice, size: number): GPUBuffer {
  if (value.device !== device) throw new TypeError(`${fn}: ${name} must live on the engine's device (got a matrix of another device)`);
  if (value instanceof GpuMatrix && value.isDestroyed) throw new TypeError(`${fn}: ${name} was destroyed`);
  if (value.size !== size) throw new RangeError(`${fn}: ${name} must be ${size} × ${size} (got ${describe(value.size)} × ${describe(value.size)})`);
  const buffer = value.buffer as GPUBuffer;
  if (typeof buffer.size !== 'number' || buffer.size < size * size * 4) {
    throw new RangeError(`${fn}: ${name}.buffer must hold ${size} × ${size} f32 values (got ${describe(buffer.size)} bytes)`);
  }
  return buffer;
}
