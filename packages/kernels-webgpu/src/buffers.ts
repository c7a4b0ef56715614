import { findDeviceLoss, watchDeviceLoss } from './device-loss';
import { bufferUsage, mapMode } from './gpu-flags';

/** A whole buffer, or a byte range of one (offsets must be multiples of `minStorageBufferOffsetAlignment`). */
export type BufferBinding = GPUBuffer | { readonly buffer: GPUBuffer; readonly offset?: number; readonly size?: number };

/** The `GPUBufferBinding` for a {@link BufferBinding}. */
export function toBufferBinding(binding: BufferBinding): GPUBufferBinding {
  if ('buffer' in binding) return { buffer: binding.buffer, offset: binding.offset ?? 0, size: binding.size };
  return { buffer: binding };
}

/** Byte length rounded up to 16 (the largest alignment any binding here needs), at least 16. */
export function paddedByteLength(byteLength: number): number {
  return Math.max(16, Math.ceil(byteLength / 16) * 16);
}

/**
 * An uninitialized (zero-filled) storage buffer that can also be copied to and from.
 * `byteLength` is padded with {@link paddedByteLength}.
 */
export function createStorageBuffer(device: GPUDevice, label: string, byteLength: number): GPUBuffer {
  return device.createBuffer({
    label,
    size: paddedByteLength(byteLength),
    usage: bufferUsage.storage | bufferUsage.copySrc | bufferUsage.copyDst,
  });
}

/**
 * A storage buffer holding a copy of `data` (written at creation, so no queue round trip), padded with zeros
 * to a multiple of 16 bytes.
 */
export function createBufferWithData(device: GPUDevice, label: string, data: ArrayBufferView): GPUBuffer {
  return createBufferFilled(device, label, data.byteLength, (bytes) => {
    new Uint8Array(bytes).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  });
}

/**
 * A storage buffer of `byteLength` bytes (padded with zeros to a multiple of 16) that `fill` writes at creation,
 * through the mapped range: for a large array computed on the host (a conversion, a scaling), this saves making
 * it first as its own array and copying it. The buffer is destroyed if `fill` throws.
 */
export function createBufferFilled(device: GPUDevice, label: string, byteLength: number, fill: (bytes: ArrayBuffer) => void): GPUBuffer {
  const buffer = device.createBuffer({
    label,
    size: paddedByteLength(byteLength),
    usage: bufferUsage.storage | bufferUsage.copySrc | bufferUsage.copyDst,
    mappedAtCreation: true,
  });
  try {
    fill(buffer.getMappedRange());
  } catch (error) {
    buffer.unmap();
    buffer.destroy();
    throw error;
  }
  buffer.unmap();
  return buffer;
}

/** A uniform buffer holding `data` (a packed `Params` struct), writable later with `queue.writeBuffer`. */
export function createUniformBuffer(device: GPUDevice, label: string, data: ArrayBuffer): GPUBuffer {
  const buffer = device.createBuffer({
    label,
    size: paddedByteLength(data.byteLength),
    usage: bufferUsage.uniform | bufferUsage.copyDst,
    mappedAtCreation: true,
  });
  new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data));
  buffer.unmap();
  return buffer;
}

/** One scalar field of a WGSL `Params` struct; all fields are 4 bytes, in declaration order. */
export type ParamField = readonly ['u32' | 'i32' | 'f32', number];

/** Packs scalar `Params` fields (u32/i32/f32, 4 bytes each, declaration order) into bytes, padded to 16. */
export function packParams(fields: readonly ParamField[]): ArrayBuffer {
  const bytes = new ArrayBuffer(paddedByteLength(fields.length * 4));
  const view = new DataView(bytes);
  fields.forEach(([type, value], index) => {
    if (type === 'f32') view.setFloat32(index * 4, value, true);
    else if (type === 'i32') view.setInt32(index * 4, value, true);
    else view.setUint32(index * 4, value, true);
  });
  return bytes;
}

const placeholders = new WeakMap<GPUDevice, GPUBuffer>();

/**
 * A 16-byte zero buffer bound where a kernel's optional input (a bias, say) is absent: `layout: 'auto'` keeps
 * every binding the WGSL mentions, even behind a false `override`.
 */
export function getPlaceholderBuffer(device: GPUDevice): GPUBuffer {
  let buffer = placeholders.get(device);
  if (!buffer) {
    buffer = device.createBuffer({ label: 'placeholder', size: 16, usage: bufferUsage.storage });
    placeholders.set(device, buffer);
  }
  return buffer;
}

/**
 * Copies `byteLength` bytes of `source` (from its binding offset) to the CPU.
 *
 * @param device - the device that owns the buffer.
 * @param source - a buffer with `COPY_SRC` usage, or a range of one.
 * @param byteLength - bytes to read, a multiple of 4; default the binding's size (or the whole buffer).
 * @throws {DeviceLostError} (`VPTQ_GPU_DEVICE_LOST`) when the device was lost before the data arrived.
 * @throws {RangeError} when `byteLength` is not a multiple of 4 or exceeds the buffer.
 */
export async function readBuffer(device: GPUDevice, source: BufferBinding, byteLength?: number): Promise<ArrayBuffer> {
  return readBufferWith(device, source, byteLength, (bytes) => bytes.slice(0));
}

/**
 * {@link readBuffer} without the copy: `consume` gets the mapped bytes (valid only during the call) and returns
 * what it made of them, e.g. a widened copy, so that a large readback is not copied twice.
 *
 * @throws as {@link readBuffer}, and whatever `consume` throws.
 */
export async function readBufferWith<T>(
  device: GPUDevice,
  source: BufferBinding,
  byteLength: number | undefined,
  consume: (bytes: ArrayBuffer) => T,
): Promise<T> {
  const { buffer, offset = 0, size } = toBufferBinding(source);
  const length = byteLength ?? size ?? buffer.size - offset;
  if (length % 4 !== 0 || length < 0 || offset + length > buffer.size) {
    throw new RangeError(
      `readBuffer: byteLength must be a multiple of 4 within the buffer (got ${length} at offset ${offset}, buffer size ${buffer.size})`,
    );
  }
  if (length === 0) return consume(new ArrayBuffer(0));
  void watchDeviceLoss(device);
  const staging = device.createBuffer({
    label: `${buffer.label || 'buffer'}/readback`,
    size: length,
    usage: bufferUsage.mapRead | bufferUsage.copyDst,
  });
  try {
    const encoder = device.createCommandEncoder({ label: 'readback' });
    encoder.copyBufferToBuffer(buffer, offset, staging, 0, length);
    device.queue.submit([encoder.finish()]);
    try {
      await staging.mapAsync(mapMode.read);
    } catch (error) {
      const lost = await findDeviceLoss(device);
      throw lost ?? error;
    }
    return consume(staging.getMappedRange());
  } finally {
    staging.destroy();
  }
}
