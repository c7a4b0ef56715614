import { maxRelativeDifference, randomFloats, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { rmsNorm } from './rms-norm';
import { rmsNormCpu } from './rms-norm-cpu';

const device = await requestTestDevice();

describe('rmsNormCpu', () => {
  it('normalizes to unit root mean square before the weight', () => {
    const y = rmsNormCpu(new Float32Array([3, 4]), new Float32Array([1, 2]), { rows: 1, cols: 2 }, 0);
    const rms = Math.sqrt(12.5);
    expect(y[0]).toBeCloseTo(3 / rms, 6);
    expect(y[1]).toBeCloseTo((4 / rms) * 2, 6);
  });
});

describe.skipIf(!device)('rmsNorm', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('agrees with the CPU twin over several rows of an odd width', async () => {
    const shape = { rows: 5, cols: 1001, epsilon: 1e-6 };
    const x = randomFloats(shape.rows * shape.cols, 1, 3);
    const weight = randomFloats(shape.cols, 2);
    const onGpu = await rmsNorm(gpu, x, weight, shape);
    expect(maxRelativeDifference(onGpu, rmsNormCpu(x, weight, shape, shape.epsilon), 1e-3)).toBeLessThan(1e-5);
  });

  it('rejects a negative epsilon', async () => {
    await expect(rmsNorm(gpu, new Float32Array(4), new Float32Array(4), { rows: 1, cols: 4, epsilon: -1 })).rejects.toThrow(
      /epsilon must be ≥ 0 \(got -1\)/,
    );
  });
});
