import { create } from 'webgpu';

interface DawnHolder {
  __vptqTestGpu?: GPU;
}

// Dawn keeps a raw pointer to the instance: hold it on globalThis so V8 never collects it mid-test
// (docs/webgpu-dawn.md, pitfall 1).
const holder = globalThis as unknown as DawnHolder;
let devicePromise: Promise<GPUDevice | undefined> | undefined;

/**
 * A Dawn device with the adapter's real limits and the optional features our kernels use, or `undefined`
 * when this machine has no WebGPU adapter (GPU tests then skip visibly). When `CI` is set a missing adapter
 * is an error: kernel tests must run in CI on the software Vulkan driver, never silently skip.
 */
export function requestTestDevice(): Promise<GPUDevice | undefined> {
  devicePromise ??= (async () => {
    holder.__vptqTestGpu ??= create(['enable-dawn-features=vulkan_enable_f16_on_nvidia']);
    const adapter = await holder.__vptqTestGpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) {
      if (process.env.CI) {
        throw new Error('requestTestDevice: no WebGPU adapter found while CI is set (run `eval "$(bash ../shared/gpu/lavapipe.sh)"` first)');
      }
      return undefined;
    }
    const wanted: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];
    const limits = adapter.limits;
    return adapter.requestDevice({
      label: 'test',
      requiredFeatures: wanted.filter((feature) => adapter.features.has(feature)),
      requiredLimits: {
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
        maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
      },
    });
  })();
  return devicePromise;
}

/** Destroys the shared test device and drops the Dawn instance so the worker can exit. */
export async function releaseTestDevice(): Promise<void> {
  const device = await devicePromise;
  device?.destroy();
  devicePromise = undefined;
  delete holder.__vptqTestGpu;
}
