import { maxAbsDifference, randomFloats, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { f16ArrayToF32, f32ToF16Bits } from '@vptq/pack-format/safetensors';

import { compileShader } from '../compile-shader';
import { linearCpu } from '../gemv/linear-cpu';
import { gemm } from './gemm';
import { gemmWgsl } from './gemm.wgsl';

const device = await requestTestDevice();

describe.skipIf(!device)('gemm', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('compiles', async () => {
    await expect(compileShader(gpu, 'gemm', gemmWgsl)).resolves.toBeDefined();
  });

  // Sizes that are not multiples of the 64 × 64 tile or the 16-column depth.
  const tokens = 70;
  const rows = 131;
  const cols = 75;
  const x = randomFloats(tokens * cols, 31);
  const weights = randomFloats(rows * cols, 32);
  const bias = randomFloats(rows, 33);

  it('f32 weights with bias agree with the CPU twin', async () => {
    const onGpu = await gemm(gpu, x, weights, { tokens, rows, cols, format: 'f32' }, { bias });
    expect(maxAbsDifference(onGpu, linearCpu(x, weights, { tokens, rows, cols }, bias))).toBeLessThan(2e-5);
  });

  it('f16 weights in several row windows agree with the CPU twin', async () => {
    const bits = Uint16Array.from(weights, f32ToF16Bits);
    // 80-column f16 rows are 160 bytes; 2048-byte windows take 8 rows (1280 bytes, 256-byte aligned).
    const onGpu = await gemm(gpu, x, bits, { tokens, rows, cols, format: 'f16' }, { maxBindingBytes: 2048 });
    expect(maxAbsDifference(onGpu, linearCpu(x, f16ArrayToF32(bits), { tokens, rows, cols }))).toBeLessThan(2e-5);
  });
});
