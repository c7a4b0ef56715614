import { maxAbsDifference, randomFloats, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { rope } from './rope';
import { ropeCpu, ropeInverseFrequencies } from './rope-cpu';

const device = await requestTestDevice();

describe('ropeCpu', () => {
  it('rotates the first pair by the position at frequency 1', () => {
    const values = new Float32Array([1, 0, 0, 0]);
    const interleaved = ropeCpu(values, { tokens: 1, heads: 1, headDim: 4 }, 3);
    expect(interleaved[0]).toBeCloseTo(Math.cos(3), 6);
    expect(interleaved[1]).toBeCloseTo(Math.sin(3), 6);
    const half = ropeCpu(values, { tokens: 1, heads: 1, headDim: 4, layout: 'half' }, 3);
    expect(half[0]).toBeCloseTo(Math.cos(3), 6);
    expect(half[2]).toBeCloseTo(Math.sin(3), 6);
  });

  it('uses θ^(-2i/d) frequencies', () => {
    expect([...ropeInverseFrequencies(4, 100)]).toEqual([1, Math.fround(0.1)]);
    expect(() => ropeInverseFrequencies(5)).toThrow(/headDim must be even \(got 5\)/);
  });
});

describe.skipIf(!device)('rope', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  for (const layout of ['interleaved', 'half'] as const) {
    it(`${layout} layout agrees with the CPU twin at large positions`, async () => {
      const shape = { tokens: 3, heads: 4, headDim: 64, theta: 500000, layout };
      const values = randomFloats(3 * 4 * 64, 5);
      // Position 4000: angles reach 4000 rad, where an unreduced f32 sin/cos would be off by ~1e-3.
      const onGpu = await rope(gpu, values, shape, 4000);
      expect(maxAbsDifference(onGpu, ropeCpu(values, shape, 4000))).toBeLessThan(2e-5);
    });
  }
});
