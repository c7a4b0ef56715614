import { maxAbsDifference, randomFloats, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { compileShader } from '../compile-shader';
import { swiglu } from './swiglu';
import { swigluCpu } from './swiglu-cpu';
import { swigluWgsl } from './swiglu.wgsl';

const device = await requestTestDevice();

describe('swigluCpu', () => {
  it('computes silu(gate)·up', () => {
    const out = swigluCpu(new Float32Array([0, 1, -2, -100]), new Float32Array([3, 2, 1, 5]));
    expect(out[0]).toBe(0);
    expect(out[1]).toBeCloseTo(2 / (1 + Math.exp(-1)), 6);
    expect(out[2]).toBeCloseTo(-2 / (1 + Math.exp(2)), 6);
    expect(Math.abs(out[3])).toBeLessThan(1e-30);
  });

  it('rejects different lengths', () => {
    expect(() => swigluCpu(new Float32Array(2), new Float32Array(3))).toThrow(/same length \(got 2 and 3\)/);
  });
});

describe.skipIf(!device)('swiglu', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('compiles', async () => {
    await expect(compileShader(gpu, 'swiglu', swigluWgsl)).resolves.toBeDefined();
  });

  it('agrees with the CPU twin, including large negative and positive gates', async () => {
    const gate = randomFloats(1000, 1, 8);
    gate[0] = -120;
    gate[1] = 95;
    const up = randomFloats(1000, 2, 2);
    const onGpu = await swiglu(gpu, gate, up);
    expect(maxAbsDifference(onGpu, swigluCpu(gate, up))).toBeLessThan(1e-5);
  });
});
