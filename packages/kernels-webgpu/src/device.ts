import { watchDeviceLoss } from './device-loss';
import { AdapterUnavailableError } from './errors';
import type { DeviceLostError } from './errors';

/** Optional WebGPU features the kernels use when present; each has a fallback when absent. */
export const optionalKernelFeatures: readonly GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];

/** Limits that acquireDevice raises from WebGPU's defaults to what the adapter really offers. */
export const raisedLimits = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/** One of {@link raisedLimits}. */
export type RaisedLimit = (typeof raisedLimits)[number];

/** Options of {@link acquireDevice}. */
export interface AcquireDeviceOptions {
  /** Passed to `requestAdapter`. Default `'high-performance'`. */
  readonly powerPreference?: GPUPowerPreference;
  /** Features to enable when the adapter has them. Default {@link optionalKernelFeatures}. */
  readonly optionalFeatures?: readonly GPUFeatureName[];
  /** Caps on the requested limits (e.g. to test chunking); each defaults to the adapter's own value. */
  readonly limitCaps?: Partial<Record<RaisedLimit, number>>;
  /** Device label, quoted in Dawn's messages. Default `'vptq'`. */
  readonly label?: string;
  /** Called once if the device is lost for any reason other than `destroy()`. */
  readonly onLost?: (error: DeviceLostError) => void;
}

/** What {@link acquireDevice} enabled, so callers and benchmarks can report it. */
export interface DeviceInfo {
  /** Every optional feature that was asked for and whether it was enabled. */
  readonly features: {
    readonly shaderF16: boolean;
    readonly subgroups: boolean;
    readonly timestampQuery: boolean;
  };
  /** The enabled optional features, by their WebGPU names. */
  readonly enabledFeatures: readonly GPUFeatureName[];
  /** The optional features that were asked for but that the adapter lacks (their fallbacks are used). */
  readonly missingFeatures: readonly GPUFeatureName[];
  /** The device's limits for {@link raisedLimits}, as granted. */
  readonly limits: Readonly<Record<RaisedLimit, number>>;
  /** The adapter's description; fields the implementation does not expose are empty strings / undefined. */
  readonly adapterInfo: {
    readonly vendor: string;
    readonly architecture: string;
    readonly device: string;
    readonly description: string;
    readonly isFallbackAdapter: boolean;
    readonly subgroupMinSize: number | undefined;
    readonly subgroupMaxSize: number | undefined;
  };
  /** Resolves with a {@link DeviceLostError} when the device is lost (also after `destroy()`). */
  readonly lost: Promise<DeviceLostError>;
}

/**
 * Requests an adapter and a device with the adapter's real limits for buffer sizes, bindings and workgroups
 * (WebGPU's defaults cap buffers at 256 MiB) and with every optional kernel feature the adapter has
 * (`shader-f16`, `subgroups`, `timestamp-query`); kernels fall back to u32-packed f16, shared-memory
 * reductions and wall-clock timing where one is missing. Works with `navigator.gpu` in browsers and with
 * Dawn's `create()` result in Node; this package never reads globals.
 *
 * @param gpu - the WebGPU entry point (`navigator.gpu`, or `create([...])` from npm `webgpu`).
 * @returns the device and a {@link DeviceInfo} describing what was enabled.
 * @throws {AdapterUnavailableError} (`VPTQ_GPU_NO_ADAPTER`) when no adapter is offered.
 * @throws {TypeError} when `gpu` has no `requestAdapter` method.
 */
export async function acquireDevice(
  gpu: GPU,
  options: AcquireDeviceOptions = {},
): Promise<{ device: GPUDevice; info: DeviceInfo }> {
  if (typeof gpu !== 'object' || gpu === null || typeof gpu.requestAdapter !== 'function') {
    throw new TypeError(`acquireDevice: gpu must be a WebGPU GPU object with requestAdapter (got ${String(gpu)})`);
  }
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new AdapterUnavailableError(
      'acquireDevice: no WebGPU adapter is available (no GPU or Vulkan/Metal/D3D12 driver; on a GPU-less Linux machine install Mesa >= 25 lavapipe)',
    );
  }
  const wanted = options.optionalFeatures ?? optionalKernelFeatures;
  const enabledFeatures = wanted.filter((feature) => adapter.features.has(feature));
  const missingFeatures = wanted.filter((feature) => !adapter.features.has(feature));

  const requiredLimits: Record<string, number> = {};
  for (const name of raisedLimits) {
    const offered = adapter.limits[name];
    if (typeof offered !== 'number') continue;
    const cap = options.limitCaps?.[name];
    requiredLimits[name] = cap === undefined ? offered : Math.min(offered, cap);
  }

  const device = await adapter.requestDevice({
    label: options.label ?? 'vptq',
    requiredFeatures: enabledFeatures,
    requiredLimits,
  });
  const lost = watchDeviceLoss(device);
  if (options.onLost) {
    const onLost = options.onLost;
    void lost.then((error) => {
      if (error.reason !== 'destroyed') onLost(error);
    });
  }

  const limits = {} as Record<RaisedLimit, number>;
  for (const name of raisedLimits) limits[name] = device.limits[name];
  // Older implementations (and test doubles) may lack `adapter.info` or some of its fields.
  const info = adapter.info as Partial<GPUAdapterInfo> | undefined;
  return {
    device,
    info: {
      features: {
        shaderF16: device.features.has('shader-f16'),
        subgroups: device.features.has('subgroups'),
        timestampQuery: device.features.has('timestamp-query'),
      },
      enabledFeatures,
      missingFeatures,
      limits,
      adapterInfo: {
        vendor: info?.vendor ?? '',
        architecture: info?.architecture ?? '',
        device: info?.device ?? '',
        description: info?.description ?? '',
        isFallbackAdapter: info?.isFallbackAdapter ?? false,
        subgroupMinSize: info?.subgroupMinSize,
        subgroupMaxSize: info?.subgroupMaxSize,
      },
      lost,
    },
  };
}
