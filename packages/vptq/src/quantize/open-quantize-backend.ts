import { createNodeDevice, releaseNodeDevice } from '../create-node-device';
import { createCpuQuantizeBackend } from './cpu-quantize-backend';
import { createGpuQuantizeBackend } from './gpu-quantize-backend';
import type { QuantizeBackend } from './quantize-backend';

/**
 * The backend for `device`: `'cpu'`; `'gpu'`, the caller's device or Dawn's adapter, whatever it is (software
 * ones included), failing clearly when there is none; `'auto'`, a hardware adapter when Dawn offers one, else the
 * CPU. Logs which it chose and why.
 */
export async function openQuantizeBackend(device: 'auto' | 'cpu' | 'gpu', gpuDevice: GPUDevice | undefined, log: (message: string) => void): Promise<QuantizeBackend> {
  if (device === 'cpu') return createCpuQuantizeBackend();
  if (gpuDevice) return createGpuQuantizeBackend(gpuDevice, undefined);
  let created: Awaited<ReturnType<typeof createNodeDevice>>;
  try {
    created = await createNodeDevice();
  } catch (error) {
    if (device === 'gpu') throw new Error(`quantize: --device gpu: no WebGPU device: ${(error as Error).message}`, { cause: error });
    log(`device auto: no WebGPU adapter (${(error as Error).message.split('\n')[0]}); quantizing on the CPU`);
    return createCpuQuantizeBackend();
  }
  const backend = createGpuQuantizeBackend(created.device, created.info, () => releaseNodeDevice(created.device));
  if (device === 'auto' && created.info.adapterInfo.isFallbackAdapter) {
    backend.destroy();
    log(`device auto: the only WebGPU adapter is a software one (${backend.description.replace(/^GPU /, '')}); quantizing on the CPU (--device gpu uses it anyway)`);
    return createCpuQuantizeBackend();
  }
  log(`device ${device}: quantizing on ${backend.description}`);
  return backend;
}
