import { randomFloats, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { f16ArrayToF32, f32ToF16Bits } from '@vptq/pack-format/safetensors';
import { embedding } from './embedding';
import { embeddingCpu } from './embedding-cpu';

const device = await requestTestDevice();

describe.skipIf(!device)('embedding', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  const rows = 100;
  const cols = 36;
  const table = randomFloats(rows * cols, 1);
  const tokens = new Uint32Array([5, 99, 0, 5, 42, 1000]);

  it('gathers f32 rows and zeroes out-of-range ids', async () => {
    const onGpu = await embedding(gpu, table, { rows, cols, format: 'f32' }, tokens);
    expect([...onGpu]).toEqual([...embeddingCpu(table, tokens, cols)]);
  });

  it('gathers f16 rows from several windows', async () => {
    const bits = Uint16Array.from(table, f32ToF16Bits);
    // 40-element f16 rows are 80 bytes: 16 rows (1280 bytes) per 256-byte aligned window.
    const onGpu = await embedding(gpu, bits, { rows, cols, format: 'f16' }, tokens, { maxBindingBytes: 1500 });
    expect([...onGpu]).toEqual([...embeddingCpu(f16ArrayToF32(bits), tokens, cols)]);
  });
});
