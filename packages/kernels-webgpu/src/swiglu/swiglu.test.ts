import { maxAbsDifference, randomFloats, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { compileShader } from '../compile-shader';
import { swiglu } from './swiglu';
import { swigluCpu } from './swiglu-cpu';
import { swigluWgsl } from './swiglu.wgsl';

const device = await requestTestDevice();

describe('swigluCpu', () => {
  it('scales gate and up by the inverse RMS of the stream row with normalize', () => {
    // Stream row [3, 4]: mean square 12.5, so with epsilon 0.5 both inputs are divided by sqrt(13).
    const out = swigluCpu(new Float32Array([2]), new Float32Array([5]), { stream: new Float32Array([3, 4]), tokens: 1, hidden: 2, epsilon: 0.5 });
    const g = Math.fround(2 / Math.sqrt(13));
    expect(out[0]).toBeCloseTo((g / (1 + Math.exp(-g))) * (5 / Math.sqrt(13)), 6);
  });

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

  it('agrees with the CPU twin when it applies the folded RMSNorm (3 tokens, width off the workgroup grid)', async () => {
    const tokens = 3;
    const width = 700;
    const hidden = 300;
    const gate = randomFloats(tokens * width, 3, 8);
    const up = randomFloats(tokens * width, 4, 2);
    const stream = randomFloats(tokens * hidden, 5, 4);
    const normalize = { stream, tokens, hidden, epsilon: 1e-5 };
    const onGpu = await swiglu(gpu, gate, up, normalize);
    const onCpu = swigluCpu(gate, up, normalize);
    expect(maxAbsDifference(onGpu, onCpu)).toBeLessThan(1e-5);
    // The scale matters: without it the result is far off.
    expect(maxAbsDifference(onGpu, swigluCpu(gate, up))).toBeGreaterThan(1e-2);
  });
});
