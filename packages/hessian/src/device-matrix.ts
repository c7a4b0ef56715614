/**
 * An `[n, n]` f32 row-major matrix that an engine keeps on its device (for the WebGPU engines a `GPUBuffer`), so
 * that an n² matrix never crosses to the host between the engines of one device: only engines of that device
 * read it (`prepareHessianGpu` of `@vptq/kernels-webgpu/quantize` makes them).
 */
export interface DeviceMatrix {
  /** n. */
  readonly size: number;
  /** The device that holds it (a `GPUDevice`). */
  readonly device: object;
  /** The device's buffer (a `GPUBuffer`), at least n² f32 values. */
  readonly buffer: object;
  /** Frees the buffer; the matrix cannot be read afterwards. */
  destroy(): void;
}

/** Whether `value` is a {@link DeviceMatrix} rather than a host array (what engines branch on). */
export function isDeviceMatrix(value: unknown): value is DeviceMatrix {
  return typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && 'buffer' in value && 'device' in value && 'size' in value;
}
