/// <reference types="@webgpu/types" />
import { acquireDevice } from '@vptq/kernels-webgpu';
import type { DeviceInfo } from '@vptq/kernels-webgpu';

interface DawnHolder {
  __vptqDawn?: GPU;
}

/**
 * Creates a WebGPU device in Node through Dawn (npm `webgpu`, an optional peer dependency), with the
 * adapter's real limits and the optional features our kernels use.
 *
 * Dawn holds a raw pointer to its instance, so the instance is kept on `globalThis` until
 * {@link releaseNodeDevice} (docs/webgpu-dawn.md, pitfall 1).
 * @throws {Error} when `webgpu` is not installed or no adapter exists (e.g. no Vulkan driver).
 */
export async function createNodeDevice(): Promise<{ device: GPUDevice; info: DeviceInfo }> {
  let create: (options: string[]) => GPU;
  try {
    ({ create } = (await import('webgpu')) as { create: (options: string[]) => GPU });
  } catch (error) {
    throw new Error('createNodeDevice: the optional dependency `webgpu` is not installed (npm i webgpu@0.6.2)', {
      cause: error,
    });
  }
  const holder = globalThis as unknown as DawnHolder;
  // f16 on NVIDIA's Vulkan driver is behind a Dawn toggle; timestamp quantization would blur kernel timings.
  holder.__vptqDawn ??= create([
    'enable-dawn-features=vulkan_enable_f16_on_nvidia',
    'disable-dawn-features=timestamp_quantization',
  ]);
  return acquireDevice(holder.__vptqDawn);
}

/** Destroys `device` and drops the Dawn instance so the process can exit. */
export function releaseNodeDevice(device: GPUDevice): void {
  device.destroy();
  delete (globalThis as unknown as DawnHolder).__vptqDawn;
}
