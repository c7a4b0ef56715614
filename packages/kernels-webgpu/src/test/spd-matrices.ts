import { createTestRng } from '@vptq/test-utils';

/** `count` seeded independent standard normal values (Box–Muller). */
function gaussians(count: number, seed: number): Float64Array {
  const next = createTestRng(seed);
  const out = new Float64Array(count);
  for (let i = 0; i < out.length; i++) {
    const radius = Math.sqrt(-2 * Math.log(1 - next()));
    out[i] = radius * Math.cos(2 * Math.PI * next());
  }
  return out;
}

/**
 * A seeded Hessian-like SPD `[n, n]` f64 matrix: E[xxᵀ] over `2n` tokens whose channels have log-normal scales
 * (a few large "outlier" channels, as in LLM activations), normalized to mean diagonal 1, plus `damp`·I.
 */
export function hessianLike(size: number, seed: number, damp = 0.02): Float64Array {
  const tokens = 2 * size;
  const next = createTestRng(seed);
  const scales = Float64Array.from({ length: size }, () => Math.exp(2 * (next() - 0.5) * 2));
  const x = gaussians(tokens * size, seed + 1);
  const h = new Float64Array(size * size);
  for (let t = 0; t < tokens; t++) {
    const row = t * size;
    for (let i = 0; i < size; i++) {
      const xi = x[row + i] * scales[i];
      for (let j = 0; j <= i; j++) h[i * size + j] += xi * x[row + j] * scales[j];
    }
  }
  let mean = 0;
  for (let i = 0; i < size; i++) mean += h[i * size + i];
  mean /= size * tokens;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j <= i; j++) {
      const value = h[i * size + j] / tokens / mean;
      h[i * size + j] = value;
      h[j * size + i] = value;
    }
    h[i * size + i] += damp;
  }
  return h;
}

/**
 * A seeded SPD `[n, n]` f64 matrix Q·diag(λ)·Qᵀ with Q a random orthogonal matrix (modified Gram–Schmidt of
 * a Gaussian one) and λ geometric from 1 down to 1/`condition`, so κ₂ = `condition` exactly (up to f64).
 */
export function illConditionedSpd(size: number, condition: number, seed: number): Float64Array {
  const q = gaussians(size * size, seed);
  // Columns of Q are rows here (q[k * size + i] = Q[i, k]) so that the Gram–Schmidt runs over contiguous memory.
  for (let k = 0; k < size; k++) {
    const column = q.subarray(k * size, (k + 1) * size);
    for (let previous = 0; previous < k; previous++) {
      const other = q.subarray(previous * size, (previous + 1) * size);
      let dot = 0;
      for (let i = 0; i < size; i++) dot += column[i] * other[i];
      for (let i = 0; i < size; i++) column[i] -= dot * other[i];
    }
    let norm = 0;
    for (let i = 0; i < size; i++) norm += column[i] * column[i];
    norm = Math.sqrt(norm);
    for (let i = 0; i < size; i++) column[i] /= norm;
  }
  const a = new Float64Array(size * size);
  for (let k = 0; k < size; k++) {
    const lambda = size === 1 ? 1 : condition ** (-k / (size - 1));
    const column = q.subarray(k * size, (k + 1) * size);
    for (let i = 0; i < size; i++) {
      const scaled = lambda * column[i];
      for (let j = 0; j <= i; j++) a[i * size + j] += scaled * column[j];
    }
  }
  for (let i = 0; i < size; i++) for (let j = 0; j < i; j++) a[j * size + i] = a[i * size + j];
  return a;
}

/** Frobenius norm of a flat array. */
export function frobenius(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] * values[i];
  return Math.sqrt(sum);
}

/** ‖a − b‖_F / ‖b‖_F. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const difference = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) difference[i] = a[i] - b[i];
  return frobenius(difference) / frobenius(b);
}

/**
 * The backward error of a factor U of A⁻¹: ‖R·Rᵀ − A‖_F / ‖A‖_F with R = U⁻¹ (f64 back substitution), i.e. how
 * far the matrix that U exactly factors is from A. A quantizer using U optimizes for R·Rᵀ instead of A.
 */
export function backwardError(upper: Float64Array, a: Float64Array, size: number): number {
  // R = U⁻¹ is upper triangular: solve U·R = I column by column (rows bottom-up).
  const r = new Float64Array(size * size);
  for (let column = 0; column < size; column++) {
    for (let row = column; row >= 0; row--) {
      let sum = row === column ? 1 : 0;
      for (let k = row + 1; k <= column; k++) sum -= upper[row * size + k] * r[k * size + column];
      r[row * size + column] = sum / upper[row * size + row];
    }
  }
  const difference = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      let sum = 0;
      for (let k = Math.max(i, j); k < size; k++) sum += r[i * size + k] * r[j * size + k];
      difference[i * size + j] = sum - a[i * size + j];
    }
  }
  return frobenius(difference) / frobenius(a);
}

/**
 * κ₂(A) = λmax(A)·λmax(A⁻¹) by power iteration, with A⁻¹ applied as Uᵀ(U·x) through its upper factor U
 * (UᵀU = A⁻¹); 200 iterations from a fixed start vector give 3 correct digits on these matrices.
 */
export function conditionNumber(a: Float64Array, upper: Float64Array, size: number): number {
  const largest = (apply: (x: Float64Array) => Float64Array): number => {
    let x = Float64Array.from({ length: size }, (_, i) => 1 + i / size);
    let value = 0;
    for (let iteration = 0; iteration < 200; iteration++) {
      const y = apply(x);
      value = Math.sqrt(y.reduce((sum, v) => sum + v * v, 0));
      x = y.map((v) => v / value);
    }
    return value;
  };
  const multiply = (m: Float64Array, x: Float64Array, transpose: boolean): Float64Array => {
    const y = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) y[transpose ? j : i] += m[i * size + j] * x[transpose ? i : j];
    }
    return y;
  };
  return largest((x) => multiply(a, x, false)) * largest((x) => multiply(upper, multiply(upper, x, false), true));
}
