import { releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createStorageBuffer } from './buffers';
import { compileShader } from './compile-shader';
import { captureGpuErrors, checkWorkgroups, flatGrid } from './dispatch';
import { getComputePipeline } from './pipeline-cache';

const device = await requestTestDevice();

const valid = `
override size: u32 = 64;
@group(0) @binding(0) var<storage, read_write> data: array<u32>;
@compute @workgroup_size(size) fn main(@builtin(global_invocation_id) id: vec3u) { data[id.x] = id.x; }
`;

describe.skipIf(!device)('compileShader, getComputePipeline, captureGpuErrors', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('reports WGSL errors with line:col', async () => {
    const broken = 'fn main() {\n  let x: u32 = 1.5;\n}\n';
    const error = await compileShader(gpu, 'broken', broken).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'VPTQ_GPU_SHADER_COMPILATION', label: 'broken', name: 'ShaderCompilationError' });
    expect((error as { messages: string[] }).messages[0]).toMatch(/^2:\d+ /);
  });

  it('caches one pipeline per device, kernel and constants', async () => {
    const first = getComputePipeline(gpu, { label: 'cache-test', code: valid, constants: { size: 64 } });
    const same = getComputePipeline(gpu, { label: 'cache-test', code: valid, constants: { size: 64 } });
    const other = getComputePipeline(gpu, { label: 'cache-test', code: valid, constants: { size: 32 } });
    expect(same).toBe(first);
    expect(other).not.toBe(first);
    await expect(Promise.all([first, other])).resolves.toHaveLength(2);
  });

  it('does not cache a failed compilation', async () => {
    const spec = { label: 'cache-broken', code: 'fn main( {' };
    const first = getComputePipeline(gpu, spec);
    await expect(first).rejects.toMatchObject({ code: 'VPTQ_GPU_SHADER_COMPILATION' });
    expect(getComputePipeline(gpu, spec)).not.toBe(first);
    await expect(getComputePipeline(gpu, spec)).rejects.toBeDefined();
  });

  it('turns validation errors into GpuValidationError', async () => {
    const error = await captureGpuErrors(gpu, 'mappable-storage', () => {
      // MAP_READ may only be combined with COPY_DST, so a mappable storage buffer is invalid.
      gpu.createBuffer({ label: 'mappable-storage', size: 16, usage: 0x0001 | 0x0080 });
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'VPTQ_GPU_VALIDATION', label: 'mappable-storage', filter: 'validation', name: 'GpuValidationError' });
  });

  it('checks grids against maxComputeWorkgroupsPerDimension', () => {
    const limit = gpu.limits.maxComputeWorkgroupsPerDimension;
    expect(() => checkWorkgroups('kernel', gpu, limit + 1)).toThrow(new RegExp(`above the device's maxComputeWorkgroupsPerDimension of ${limit}`));
    expect(flatGrid('kernel', gpu, limit * 3 + 1)).toEqual([Math.ceil((limit * 3 + 1) / 4), 4, 1]);
    const buffer = createStorageBuffer(gpu, 'grid', 16);
    buffer.destroy();
  });
});
