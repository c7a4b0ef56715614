import { prepareHessian } from '@vptq/hessian';
import type { HessianOrder, PreparedHessian } from '@vptq/hessian';
import { createTestRng, randomMatrix } from '@vptq/test-utils';

import type { Matrix } from '@vptq/kmeans';

/**
 * Test input: a random SPD `[size, size]` f64 Hessian XᵀX/n + 1e-3·I from `samples` inputs whose features are
 * mixed (x = z·M with M = I + correlation·N(0,1)), so off-diagonal terms matter, and whose feature scales differ
 * (so the column order is not trivial).
 */
export function randomHessian(size: number, seed: number, options: { correlation?: number; samples?: number } = {}): Float64Array {
  const correlation = options.correlation ?? 0.5;
  const samples = options.samples ?? 4 * size;
  const next = createTestRng(seed);
  const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const mixing = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) mixing[i * size + j] = (i === j ? 1 : 0) + correlation * gaussian();
  }
  const featureScale = Float64Array.from({ length: size }, () => 0.2 + 2 * next());
  const inputs = new Float64Array(samples * size);
  const z = new Float64Array(size);
  for (let sample = 0; sample < samples; sample++) {
    for (let i = 0; i < size; i++) z[i] = gaussian();
    for (let j = 0; j < size; j++) {
      let sum = 0;
      for (let i = 0; i < size; i++) sum += z[i] * mixing[i * size + j];
      inputs[sample * size + j] = sum * featureScale[j];
    }
  }
  const hessian = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = i; j < size; j++) {
      let sum = 0;
      for (let sample = 0; sample < samples; sample++) sum += inputs[sample * size + i] * inputs[sample * size + j];
      const value = sum / samples + (i === j ? 1e-3 : 0);
      hessian[i * size + j] = value;
      hessian[j * size + i] = value;
    }
  }
  return hessian;
}

/** A prepared random Hessian (see {@link randomHessian}), in decreasing-diagonal order unless told otherwise. */
export function randomPreparedHessian(
  size: number,
  seed: number,
  options: { correlation?: number; order?: HessianOrder } = {},
): PreparedHessian {
  return prepareHessian({ data: randomHessian(size, seed, options), size }, { order: options.order ?? 'diag-desc' });
}

/** A seeded `[rows, cols]` weight, uniform in [−scale, scale) and never exactly zero. */
export function randomWeight(rows: number, cols: number, seed: number, scale = 0.1): Matrix {
  return randomMatrix({ rows, cols, seed, scale });
}
