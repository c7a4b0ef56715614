import { createTestRng } from '@vptq/test-utils';

/** A seeded random symmetric positive-definite `[n, n]` f64 matrix: BᵀB/n + ridge·I with B random, never zero. */
export function randomSpd(size: number, seed: number, ridge = 0.1): Float64Array {
  const next = createTestRng(seed);
  const b = new Float64Array(size * size);
  for (let i = 0; i < b.length; i++) b[i] = next() * 2 - 1 || 0.5;
  const a = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      let s = 0;
      for (let k = 0; k < size; k++) s += b[k * size + i] * b[k * size + j];
      a[i * size + j] = s / size + (i === j ? ridge : 0);
    }
  }
  return a;
}

/** C = A·B for `[n, n]` row-major f64 matrices. */
export function multiply(a: Float64Array, b: Float64Array, size: number): Float64Array {
  const c = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let k = 0; k < size; k++) {
      const aik = a[i * size + k];
      for (let j = 0; j < size; j++) c[i * size + j] += aik * b[k * size + j];
    }
  }
  return c;
}

/** Aᵀ for a `[n, n]` row-major f64 matrix. */
export function transpose(a: Float64Array, size: number): Float64Array {
  const t = new Float64Array(size * size);
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) t[j * size + i] = a[i * size + j];
  return t;
}

/** The `[n, n]` identity. */
export function identity(size: number): Float64Array {
  const m = new Float64Array(size * size);
  for (let i = 0; i < size; i++) m[i * size + i] = 1;
  return m;
}
