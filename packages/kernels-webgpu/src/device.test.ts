import { getTestGpu, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { readBuffer } from './buffers';
import { createStorageBuffer } from './buffers';
import { acquireDevice } from './device';
import type { DeviceLostError } from './errors';

/** A fake GPU whose adapter offers `features` and `limits` and records the device request. */
function fakeGpu(features: string[], limits: Record<string, number>, requests: GPUDeviceDescriptor[], adapter = true): GPU {
  const lost = new Promise<GPUDeviceLostInfo>(() => {});
  const device = { lost, features: new Set(features), limits } as unknown as GPUDevice;
  return {
    requestAdapter: async () =>
      adapter
        ? ({
            features: new Set(features),
            limits,
            info: { vendor: 'fake', architecture: 'test', device: 'fake-1', description: 'fake adapter', isFallbackAdapter: true },
            requestDevice: async (descriptor: GPUDeviceDescriptor) => {
              requests.push(descriptor);
              const granted = { ...limits, ...(descriptor.requiredLimits as Record<string, number>) };
              return { ...device, features: new Set(descriptor.requiredFeatures), limits: granted };
            },
          } as unknown as GPUAdapter)
        : null,
  } as unknown as GPU;
}

const limits = {
  maxStorageBufferBindingSize: 2 ** 31 - 4,
  maxBufferSize: 2 ** 40,
  maxComputeWorkgroupStorageSize: 49152,
  maxComputeInvocationsPerWorkgroup: 1024,
  maxComputeWorkgroupSizeX: 1024,
  maxComputeWorkgroupSizeY: 1024,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBuffersPerShaderStage: 16,
};

describe('acquireDevice', () => {
  it('requests every optional feature the adapter has and its real limits', async () => {
    const requests: GPUDeviceDescriptor[] = [];
    const { info } = await acquireDevice(fakeGpu(['shader-f16', 'timestamp-query'], limits, requests));
    expect(requests[0].requiredFeatures).toEqual(['shader-f16', 'timestamp-query']);
    expect(requests[0].requiredLimits).toEqual(limits);
    expect(info.features).toEqual({ shaderF16: true, subgroups: false, timestampQuery: true });
    expect(info.missingFeatures).toEqual(['subgroups']);
    expect(info.limits.maxBufferSize).toBe(2 ** 40);
    expect(info.adapterInfo).toMatchObject({ vendor: 'fake', device: 'fake-1', isFallbackAdapter: true });
  });

  it('applies limit caps', async () => {
    const requests: GPUDeviceDescriptor[] = [];
    const { info } = await acquireDevice(fakeGpu([], limits, requests), { limitCaps: { maxStorageBufferBindingSize: 1 << 20 } });
    expect((requests[0].requiredLimits as Record<string, number>).maxStorageBufferBindingSize).toBe(1 << 20);
    expect(info.limits.maxStorageBufferBindingSize).toBe(1 << 20);
  });

  it('fails with VPTQ_GPU_NO_ADAPTER when no adapter is offered', async () => {
    await expect(acquireDevice(fakeGpu([], limits, [], false))).rejects.toMatchObject({ code: 'VPTQ_GPU_NO_ADAPTER', name: 'AdapterUnavailableError' });
  });

  it('rejects something that is not a GPU', async () => {
    await expect(acquireDevice({} as GPU)).rejects.toThrow(/gpu must be a WebGPU GPU object with requestAdapter/);
  });
});

const testDevice = await requestTestDevice();

describe.skipIf(!testDevice)('acquireDevice on a real adapter', () => {
  afterAll(releaseTestDevice);

  it('returns a working device, then reports its loss as DeviceLostError', async () => {
    const { device, info } = await acquireDevice(getTestGpu(), { label: 'device-test' });
    expect(device.limits.maxStorageBufferBindingSize).toBe(info.limits.maxStorageBufferBindingSize);
    const buffer = createStorageBuffer(device, 'device-test', 16);
    expect(new Uint32Array(await readBuffer(device, buffer))).toEqual(new Uint32Array(4));

    device.destroy();
    const lost: DeviceLostError = await info.lost;
    expect(lost).toMatchObject({ code: 'VPTQ_GPU_DEVICE_LOST', reason: 'destroyed', name: 'DeviceLostError' });
    await expect(readBuffer(device, buffer)).rejects.toMatchObject({ code: 'VPTQ_GPU_DEVICE_LOST' });
  });
});
