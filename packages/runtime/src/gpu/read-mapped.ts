import { mapMode } from '@vptq/kernels-webgpu/authoring';

/** Maps the first `bytes` of a `MAP_READ` buffer, copies them out and unmaps it, so the buffer can be reused. */
export async function readMapped(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
  await buffer.mapAsync(mapMode.read, 0, bytes);
  try {
    return buffer.getMappedRange(0, bytes).slice(0);
  } finally {
    buffer.unmap();
  }
}
