/// <reference types="@webgpu/types" />
import { acquireDevice } from '@vptq/kernels-webgpu';
import type { DeviceInfo } from '@vptq/kernels-webgpu';

import { adapterFlagFor, parseDawnAdapterList } from './distributed/select-dawn-adapter';

interface DawnHolder {
  /** Every Dawn instance this process created, by its flags: none is ever dropped (see {@link releaseNodeDevice}). */
  __vptqDawn?: Map<string, GPU>;
}

/** Which adapter {@link createNodeDevice} opens. */
export interface NodeDeviceOptions {
  /**
   * The adapter's position in Dawn's list (Vulkan's enumeration order), as `vptq worker --device gpu:N` gives it.
   * Default: the adapter Dawn picks. Reachable only when its name differs from every earlier adapter's (see
   * `docs/gpu-selection.md`).
   */
  readonly adapterIndex?: number;
}

/**
 * Creates a WebGPU device in Node through Dawn (npm `webgpu`, an optional peer dependency), with the
 * adapter's real limits and the optional features our kernels use.
 *
 * Dawn holds a raw pointer to its instance, so each instance is kept on `globalThis` for the life of the process
 * and reused by later calls with the same adapter (docs/webgpu-dawn.md, pitfall 1).
 * @throws {Error} when `webgpu` is not installed or no adapter exists (e.g. no Vulkan driver).
 * @throws {RangeError} when `adapterIndex` is out of range or names an adapter Dawn cannot tell from an earlier one.
 */
export async function createNodeDevice(options: NodeDeviceOptions = {}): Promise<{ device: GPUDevice; info: DeviceInfo }> {
  let create: (options: string[]) => GPU;
  try {
    ({ create } = (await import('webgpu')) as { create: (options: string[]) => GPU });
  } catch (error) {
    throw new Error('createNodeDevice: the optional dependency `webgpu` is not installed (npm i webgpu@0.6.2)', {
      cause: error,
    });
  }
  const instances = ((globalThis as unknown as DawnHolder).__vptqDawn ??= new Map());
  const instance = (flags: string[]): GPU => {
    const key = flags.join(' ');
    let gpu = instances.get(key);
    if (!gpu) instances.set(key, (gpu = create(flags)));
    return gpu;
  };
  // f16 on NVIDIA's Vulkan driver is behind a Dawn toggle; timestamp quantization would blur kernel timings.
  const flags = ['enable-dawn-features=vulkan_enable_f16_on_nvidia', 'disable-dawn-features=timestamp_quantization'];
  if (options.adapterIndex !== undefined) {
    // dawn.node lists its adapters in the rejection of an adapter= flag that matches none.
    let listing = '';
    try {
      await instance([...flags, 'adapter=\u0001 no adapter has this name']).requestAdapter();
    } catch (error) {
      listing = (error as Error).message ?? String(error);
    }
    flags.push(adapterFlagFor(options.adapterIndex, parseDawnAdapterList(listing)));
  }
  return acquireDevice(instance(flags));
}

/**
 * Destroys `device`. The Dawn instance stays for the life of the process: one dropped while a quantization went on
 * on the CPU (`--device auto` on a software adapter) took the process down natively in CI (2026-12-07 and -08),
 * and node exits with it kept (docs/webgpu-dawn.md, "Process exit").
 */
export function releaseNodeDevice(device: GPUDevice): void {
  device.destroy();
}
