import { create } from 'webgpu';

interface DawnHolder {
  __vptqTestGpu?: GPU;
}

/**
 * The process's Dawn entry point (the same instance `requestTestDevice` uses), for tests of code that
 * takes a `GPU` and acquires its own adapter and device. Kept on `globalThis` for the reason given in
 * gpu.ts (docs/webgpu-dawn.md, pitfall 1); `releaseTestDevice` drops it.
 */
export function getTestGpu(): GPU {
  const holder = globalThis as unknown as DawnHolder;
  holder.__vptqTestGpu ??= create(['enable-dawn-features=vulkan_enable_f16_on_nvidia']);
  return holder.__vptqTestGpu;
}
