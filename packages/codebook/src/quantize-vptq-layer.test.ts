import { prepareHessian, proxyError as measureProxy } from '@vptq/hessian';
import { dequantizeVptqLayer as dequantizePacked, packVptqLayer } from '@vptq/pack-format';
import type { VptqLayerData } from '@vptq/pack-format';
import { describe, expect, it } from 'vitest';

import { CodebookError } from './codebook-error';
import { quantizeVptqLayer, runVptq } from './quantize-vptq-layer';
import type { VptqOptions, VptqPhase } from './vptq-options';
import { roundToStorage } from './storage-dtype';
import { randomHessian, randomPreparedHessian, randomWeight } from './test/random-layer';

/** The weight a reader of the packed layer rebuilds (F32 keeps every value the quantizer rounded). */
const dequantizeVptqLayer = (layer: VptqLayerData) => dequantizePacked(packVptqLayer(layer, 'F32'));

const rows = 30; // not a multiple of v = 4: the last vector of every column is padded
const cols = 48;
const weight = randomWeight(rows, cols, 1);
const prepared = randomPreparedHessian(cols, 2);
const quick = { kmeansIterations: 20 } as const;

const full: VptqOptions = {
  ...quick,
  vectorLength: 4,
  numCentroids: 32,
  numResidualCentroids: 8,
  outlierPercent: 5,
  outlierVectorLength: 2,
  numOutlierCentroids: 16,
  groupNum: 2,
  blockSize: 16,
};

describe('quantizeVptqLayer', () => {
  it('returns the config, codebooks and indices of every part with their shapes', () => {
    const result = quantizeVptqLayer(weight, prepared, full);
    // ceil(5% of 48) = 3; (48 − 3) mod 2 = 1, so O = 4 and S = 22; R = ceil(30/4) = 8; Ro = 15.
    expect(result.config).toEqual({
      inFeatures: 48,
      outFeatures: 30,
      vectorLength: 4,
      numCentroids: 32,
      numResidualCentroids: 8,
      outlierVectorLength: 2,
      numOutlierCentroids: 16,
      outlierSize: 4,
      groupNum: 2,
      groupSize: 22,
      enableNorm: true,
      enablePerm: true,
      indicesAsFloat: false,
      bias: false,
    });
    expect(result.bias).toBeUndefined();
    expect(result.codebooks.map((codebook) => codebook.length)).toEqual([128, 128]);
    expect(result.residualCodebooks.map((codebook) => codebook.length)).toEqual([32, 32]);
    expect(result.outlierCodebook?.length).toBe(32);
    expect(result.indices.map((indices) => [indices.constructor, indices.length])).toEqual([
      [Uint16Array, 176],
      [Uint16Array, 176],
    ]);
    expect(result.residualIndices.map((indices) => indices.length)).toEqual([176, 176]);
    expect(result.outlierIndices).toBeInstanceOf(Uint16Array);
    expect(result.outlierIndices?.length).toBe(60);
    expect(result.perm).toEqual(prepared.perm);
    expect(result.weightScale?.length).toBe(48);
    expect(result.weightBias?.length).toBe(48);
    expect(Math.max(...result.indices[1])).toBeLessThan(32);
    expect(Math.max(...result.residualIndices[0])).toBeLessThan(8);
    expect(Math.max(...(result.outlierIndices as Uint16Array))).toBeLessThan(16);
    // Many distinct entries in use: the indices are real assignments, not a constant.
    expect(new Set(result.indices[0]).size).toBeGreaterThan(16);
  });

  it('reports every k-means run: its codebook, iterations, convergence and the objective after each iteration', () => {
    const { kmeans } = quantizeVptqLayer(weight, prepared, full);
    expect(kmeans.map((run) => [run.codebook, run.group])).toEqual([
      ['outlier', 0],
      ['main', 0],
      ['main', 1],
      ['residual', 0],
      ['residual', 1],
    ]);
    for (const run of kmeans) {
      expect(run.iterations).toBeGreaterThanOrEqual(1);
      expect(run.iterations).toBeLessThanOrEqual(full.kmeansIterations as number);
      expect(run.objectives).toHaveLength(run.iterations);
      expect(run.converged || run.iterations === full.kmeansIterations).toBe(true);
      // Lloyd's steps never raise the weighted objective (an emptied cluster's repair only lowers it too).
      for (let i = 1; i < run.objectives.length; i++) expect(run.objectives[i]).toBeLessThanOrEqual(run.objectives[i - 1] * (1 + 1e-12));
    }
    // One iteration allowed: every run stops there, unconverged unless its assignments were already stable.
    const single = quantizeVptqLayer(weight, prepared, { ...full, kmeansIterations: 1 }).kmeans;
    expect(single.map((run) => run.objectives.length)).toEqual([1, 1, 1, 1, 1]);
  });

  it('dequantizes to exactly the weight the column loop produced, refined or not', () => {
    const variants = [
      full,
      { ...full, scaleAwareObjective: false },
      { ...full, enableNorm: false },
      { ...full, storageDtype: 'F16' as const },
      { ...quick, vectorLength: 3, numCentroids: 16 },
      { ...full, refineIterations: 0 },
    ];
    let refined = 0;
    for (const options of variants) {
      const { result, quantizedWeight } = runVptq(weight, prepared, options);
      expect(dequantizeVptqLayer(result)).toEqual(quantizedWeight);
      if (result.proxyError.after < result.proxyError.unrefined) refined++;
    }
    // The kept result came from a refinement round (not the k-means codebooks) in every refined variant.
    expect(refined).toBe(variants.length - 1);
  });

  it('refines the codebooks: a lower error, never above the unrefined loop, with every round reported', () => {
    const variants: VptqOptions[] = [
      full,
      { ...full, enableNorm: false },
      { ...full, scaleAwareObjective: false },
      { ...full, outlierVectorLength: 4 },
      { ...quick, vectorLength: 4, numCentroids: 32 },
      { ...quick, vectorLength: 2, numCentroids: 16, numResidualCentroids: 16, groupNum: 3 },
    ];
    for (const options of variants) {
      const off = quantizeVptqLayer(weight, prepared, { ...options, refineIterations: 0 }).proxyError;
      expect(off.refinements).toEqual([]);
      expect(off.after).toBe(off.unrefined);
      const { proxyError } = quantizeVptqLayer(weight, prepared, { ...options, refineIterations: 6 });
      expect(proxyError.unrefined).toBe(off.after);
      expect(proxyError.refinements.length).toBeGreaterThan(0);
      expect(proxyError.refinements.length).toBeLessThanOrEqual(6);
      expect(proxyError.after).toBe(Math.min(proxyError.unrefined, ...proxyError.refinements));
      expect(proxyError.after).toBeLessThan(0.95 * proxyError.unrefined);
    }
  });

  it('stops refining once two rounds gained less than refineTolerance, and only then', () => {
    const all = quantizeVptqLayer(weight, prepared, { ...full, refineIterations: 12 }).proxyError;
    // The round at which the rule first holds, computed from the full run's reported errors.
    const tolerance = 0.05;
    const best = [all.unrefined];
    for (const error of all.refinements) best.push(Math.min(best[best.length - 1], error));
    let expected = all.refinements.length;
    for (let round = 1; round < all.refinements.length; round++) {
      if (best[round + 1] > (1 - tolerance) * best[round - 1]) {
        expected = round + 1;
        break;
      }
    }
    expect(expected).toBeLessThan(all.refinements.length);
    const early = quantizeVptqLayer(weight, prepared, { ...full, refineIterations: 12, refineTolerance: tolerance }).proxyError;
    expect(early.refinements).toEqual(all.refinements.slice(0, expected));
    expect(early.after).toBe(best[expected]);
    expect(() => quantizeVptqLayer(weight, prepared, { ...full, refineTolerance: 1 })).toThrow(/refineTolerance must be a number in \[0, 1\) \(got 1\)/);
  });

  it('reports the proxy error of the weight it returns', () => {
    const { result, quantizedWeight } = runVptq(weight, prepared, full);
    const direct = measureProxy(
      { data: Float32Array.from({ length: rows * cols }, (_, i) => weight.data[Math.floor(i / cols) * cols + prepared.perm[i % cols]]), rows, cols },
      { data: Float32Array.from({ length: rows * cols }, (_, i) => quantizedWeight[Math.floor(i / cols) * cols + prepared.perm[i % cols]]), rows, cols },
      { data: prepared.hessian, size: cols },
    );
    expect(result.proxyError.after).toBeCloseTo(direct, 12);
  });

  it('gives identical bytes for the same seed and different codebooks for another', () => {
    const first = quantizeVptqLayer(weight, prepared, { ...full, seed: 7 });
    const second = quantizeVptqLayer(weight, prepared, { ...full, seed: 7 });
    expect(second).toEqual(first);
    expect(new Uint8Array(dequantizeVptqLayer(second).buffer)).toEqual(new Uint8Array(dequantizeVptqLayer(first).buffer));
    const other = quantizeVptqLayer(weight, prepared, { ...full, seed: 8 });
    expect(other.codebooks[0]).not.toEqual(first.codebooks[0]);
  });

  it('beats the plain k-means assignment through error feedback on a correlated Hessian', () => {
    const correlated = randomPreparedHessian(cols, 4, { correlation: 1 });
    const { proxyError } = quantizeVptqLayer(weight, correlated, { ...quick, vectorLength: 4, numCentroids: 32 });
    expect(proxyError.after).toBeLessThan(0.8 * proxyError.before);
    expect(proxyError.firstPass).toBe(proxyError.unrefined);
    expect(proxyError.after).toBeGreaterThan(0);
  });

  it('lowers the error with a residual codebook, and reports the first pass separately', () => {
    const plain = quantizeVptqLayer(weight, prepared, { ...quick, vectorLength: 4, numCentroids: 32 });
    const residual = quantizeVptqLayer(weight, prepared, { ...quick, vectorLength: 4, numCentroids: 32, numResidualCentroids: 16 });
    expect(residual.proxyError.firstPass).toBe(plain.proxyError.unrefined);
    expect(residual.proxyError.unrefined).toBeLessThan(0.8 * residual.proxyError.firstPass);
    expect(residual.proxyError.after).toBeLessThan(plain.proxyError.after);
  });

  it('works with norm off: no scale or bias, and a lower error with norm on for skewed columns', () => {
    const skewed = randomWeight(rows, cols, 9);
    const data = skewed.data.slice();
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[r * cols + c] = data[r * cols + c] * (1 + (c % 6)) + 0.3 * (c % 3);
    const input = { data, rows, cols };
    const off = quantizeVptqLayer(input, prepared, { ...quick, vectorLength: 4, numCentroids: 16, enableNorm: false });
    expect(off.config.enableNorm).toBe(false);
    expect(off.weightScale).toBeUndefined();
    expect(off.weightBias).toBeUndefined();
    const on = quantizeVptqLayer(input, prepared, { ...quick, vectorLength: 4, numCentroids: 16 });
    expect(on.proxyError.after).toBeLessThan(off.proxyError.after);
  });

  it('guards constant columns under norm with scale 1 instead of dividing by zero', () => {
    const data = weight.data.slice();
    for (let r = 0; r < rows; r++) {
      data[r * cols + 5] = 0.25;
      data[r * cols + 9] = 0;
    }
    const result = quantizeVptqLayer({ data, rows, cols }, prepared, { ...quick, vectorLength: 4, numCentroids: 16 });
    expect(result.weightScale?.[5]).toBe(1);
    expect(result.weightBias?.[5]).toBe(0.25);
    expect(result.weightScale?.[9]).toBe(1);
    expect(dequantizeVptqLayer(result).every(Number.isFinite)).toBe(true);
    expect(Number.isFinite(result.proxyError.after)).toBe(true);
  });

  it('runs with perm off (identity order) and records it', () => {
    const identity = randomPreparedHessian(cols, 2, { order: 'identity' });
    const result = quantizeVptqLayer(weight, identity, { ...quick, vectorLength: 4, numCentroids: 32 });
    expect(result.config.enablePerm).toBe(false);
    expect(Array.from(result.perm)).toEqual(Array.from({ length: cols }, (_, c) => c));
    expect(result.proxyError.after).toBeLessThan(result.proxyError.before);
  });

  it('zeroes dead columns before clustering', () => {
    const hessian = randomHessian(cols, 2);
    for (let i = 0; i < cols; i++) {
      hessian[3 * cols + i] = 0;
      hessian[i * cols + 3] = 0;
    }
    const dead = prepareHessian({ data: hessian, size: cols });
    expect(dead.deadColumns).toEqual([3]);
    const { result, quantizedWeight } = runVptq(weight, dead, { ...quick, vectorLength: 4, numCentroids: 16, enableNorm: false });
    // The dead column normalizes to all zeros; the nearest entries to a zero vector stay close to zero.
    let largest = 0;
    for (let r = 0; r < rows; r++) largest = Math.max(largest, Math.abs(quantizedWeight[r * cols + 3]));
    expect(largest).toBeLessThan(0.05);
    expect(result.proxyError.after).toBeLessThan(result.proxyError.before);
  });

  it('lowers the error in original units with the scale-aware objective when column ranges differ', () => {
    const data = weight.data.slice();
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[r * cols + c] *= c % 2 === 0 ? 10 : 0.5;
    const input = { data, rows, cols };
    const options = { ...quick, vectorLength: 4, numCentroids: 16 };
    const reference = quantizeVptqLayer(input, prepared, { ...options, scaleAwareObjective: false });
    const scaled = quantizeVptqLayer(input, prepared, options);
    expect(scaled.proxyError.after).toBeLessThan(reference.proxyError.after);
  });

  it('rounds codebooks and norm to the storage dtype before the loop uses them', () => {
    for (const dtype of ['F16', 'BF16'] as const) {
      const { result, quantizedWeight } = runVptq(weight, prepared, { ...full, storageDtype: dtype });
      const stored = [
        ...result.codebooks,
        ...result.residualCodebooks,
        result.outlierCodebook as Float32Array,
        result.weightScale as Float32Array,
        result.weightBias as Float32Array,
      ];
      for (const values of stored) for (const value of values) expect(roundToStorage(value, dtype)).toBe(value);
      expect(dequantizeVptqLayer(result)).toEqual(quantizedWeight);
      // Rounding the codebooks costs little: the error feedback absorbs it.
      const reference = quantizeVptqLayer(weight, prepared, full).proxyError.after;
      expect(result.proxyError.after).toBeLessThan(1.2 * reference);
    }
    const f32 = quantizeVptqLayer(weight, prepared, full);
    expect(f32.codebooks[0].some((value) => roundToStorage(value, 'F16') !== value)).toBe(true);
  });

  it('fails with VPTQ_CODEBOOK_STORAGE_OVERFLOW when a norm value does not fit F16', () => {
    const data = weight.data.slice();
    for (let r = 0; r < rows; r++) data[r * cols + 7] = 70000 + r;
    const call = () => quantizeVptqLayer({ data, rows, cols }, prepared, { ...quick, vectorLength: 4, numCentroids: 16, storageDtype: 'F16' });
    expect(call).toThrow(expect.objectContaining({ name: 'CodebookError', code: 'VPTQ_CODEBOOK_STORAGE_OVERFLOW' }));
    expect(call).toThrow(/column 7 .* does not fit the F16 norm scale and bias/);
  });

  it('reports progress per phase, in order, ending at 1', () => {
    const events: [VptqPhase, number][] = [];
    quantizeVptqLayer(weight, prepared, { ...full, onProgress: (phase, fraction) => events.push([phase, fraction]) });
    const phases = [...new Set(events.map(([phase]) => phase))];
    expect(phases).toEqual(['kmeans', 'column-loop', 'residual-kmeans', 'column-loop-2', 'refine']);
    for (const phase of phases) {
      const fractions = events.filter(([name]) => name === phase).map(([, fraction]) => fraction);
      expect(fractions[0]).toBe(0);
      expect(fractions.at(-1)).toBe(1);
      expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    }
  });

  it('rejects bad arguments with the parameter and value in the message', () => {
    const base: VptqOptions = { vectorLength: 4, numCentroids: 16 };
    const call = (options: Partial<VptqOptions>, input = weight, hessian = prepared) => () =>
      quantizeVptqLayer(input, hessian, { ...base, ...options } as VptqOptions);
    expect(call({ numCentroids: 12 })).toThrow(/quantizeVptqLayer: numCentroids must be a power of two .* \(got 12\)/);
    expect(call({ vectorLength: 31 })).toThrow(/quantizeVptqLayer: vectorLength must be an integer between 1 and 30 \(got 31\)/);
    expect(call({ groupNum: 5 })).toThrow(/groupNum must divide inFeatures/);
    expect(call({ kmeansIterations: 0 })).toThrow(/kmeansIterations must be an integer ≥ 1 \(got 0\)/);
    expect(call({ kmeansTolerance: -1 })).toThrow(/kmeansTolerance must be a finite number ≥ 0 \(got -1\)/);
    expect(call({ kmeansInit: 'first' as never })).toThrow(/kmeansInit must be 'random', 'kmeans\+\+' or 'auto' \(got first\)/);
    expect(call({ blockSize: 0 })).toThrow(/blockSize must be an integer ≥ 1 \(got 0\)/);
    expect(call({ refineIterations: -1 })).toThrow(/refineIterations must be an integer between 0 and 1000 \(got -1\)/);
    expect(call({ refineIterations: 1.5 })).toThrow(RangeError);
    expect(call({ seed: -1 })).toThrow(/seed must be an integer between 0 and 4294967295 \(got -1\)/);
    expect(call({ enableNorm: 'yes' as never })).toThrow(TypeError);
    expect(call({ onProgress: 3 as never })).toThrow(/onProgress must be a function/);
    expect(call({ storageDtype: 'F8' as never })).toThrow(/storageDtype must be 'F32', 'F16' or 'BF16' \(got F8\)/);
    expect(call({}, { data: new Float32Array(5), rows, cols })).toThrow(/weight.data must hold rows × cols values \(got 5 for 30 × 48\)/);
    expect(call({}, { data: [] as never, rows, cols })).toThrow(TypeError);
    const nan = weight.data.slice();
    nan[cols + 2] = Number.NaN;
    expect(call({}, { data: nan, rows, cols })).toThrow(/weight must be finite \(got NaN at row 1, column 2\)/);
    expect(call({}, weight, randomPreparedHessian(40, 1))).toThrow(/prepared.perm must have one entry per weight column/);
    expect(call({}, weight, { ...prepared, perm: new Uint32Array(cols) })).toThrow(/prepared.perm must be a permutation .* \(got 0 at position 1\)/);
    const broken = prepared.inverseCholesky.slice();
    broken[cols + 1] = 0;
    expect(call({}, weight, { ...prepared, inverseCholesky: broken })).toThrow(/finite positive diagonal \(got 0 at position 1\)/);
    expect(call({}, weight, { ...prepared, deadColumns: [cols] })).toThrow(/deadColumns must hold column indices below 48 \(got 48\)/);
  });

  it('fails with VPTQ_CODEBOOK_NON_FINITE when the error feedback overflows', () => {
    const exploding = prepared.inverseCholesky.slice();
    exploding[0] = 1e-300;
    let caught: unknown;
    try {
      quantizeVptqLayer(weight, { ...prepared, inverseCholesky: exploding }, { ...quick, vectorLength: 4, numCentroids: 16 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CodebookError);
    expect((caught as CodebookError).code).toBe('VPTQ_CODEBOOK_NON_FINITE');
  });
});
