import { readFileSync } from 'node:fs';

import { accumulateHessian, createHessianAccumulator, finalizeHessian, hessianAccumulatorFromSums, prepareHessian } from '@vptq/hessian';
import type { FinalizedHessian } from '@vptq/hessian';
import { createBufferWithData } from '@vptq/kernels-webgpu/authoring';
import { createGpuHessianAccumulator } from '@vptq/kernels-webgpu/quantize';
import { loadLlama2cTokenizer, openLlama2c } from '@vptq/loader/node';
import { createCpuModel, loadWeights } from '@vptq/runtime';
import { fixturePath, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeCalibration } from './calibration-tokens';

// The GPU Hessian accumulator of @vptq/kernels-webgpu/quantize against the CPU reference of @vptq/hessian on real
// activations: the inputs of layer 0's q/k/v (n = 64) and down_proj (n = 172) of stories260K over the whole
// bundled calibration text, 100,708 tokens, fed as the quantizer will feed them (one GPU buffer per 512-token
// window, the last one ragged).
const device = await requestTestDevice();
const windowLength = 512;

/** Layer 0's inputs per calibration window, from the CPU model's onLinearInput hook. */
function collectLayer0Inputs(): Record<'attention-input' | 'mlp-hidden', Float32Array[]> {
  const source = openLlama2c(fixturePath('karpathy-tinyllamas-stories260K', 'stories260K.bin'));
  const tokenizer = loadLlama2cTokenizer(fixturePath('karpathy-tinyllamas-stories260K', 'tok512.bin'));
  const text = readFileSync(new URL('../../../../examples/stories260K/calibration.txt', import.meta.url), 'utf8');
  const tokens = encodeCalibration(tokenizer, text);
  // Layer 0's inputs do not depend on the layers above it: build only layer 0 (5× less work).
  const model = createCpuModel(loadWeights({ config: { ...source.config, numHiddenLayers: 1 }, readTensor: (name) => source.readTensor(name) }));
  const inputs = { 'attention-input': [] as Float32Array[], 'mlp-hidden': [] as Float32Array[] };
  for (let start = 0; start < tokens.length; start += windowLength) {
    model.reset();
    model.forward(tokens.slice(start, start + windowLength), 0, {
      onLinearInput: (event) => {
        const group = event.group;
        if (group === 'attention-input' || group === 'mlp-hidden') inputs[group].push(event.input.slice(0, event.tokens * event.inFeatures));
      },
    });
  }
  source.close();
  return inputs;
}

function onCpu(windows: readonly Float32Array[], columns: number, map?: (value: number) => number): FinalizedHessian {
  const accumulator = createHessianAccumulator(columns);
  for (const window of windows) accumulateHessian(accumulator, map ? window.map(map) : window, window.length / columns);
  return finalizeHessian(accumulator);
}

/** Largest |a − b| over the upper triangle, relative to the largest |b|. */
function maxRelative(a: ArrayLike<number>, b: ArrayLike<number>, columns: number): number {
  let difference = 0;
  let largest = 0;
  for (let i = 0; i < columns; i++) {
    for (let j = i; j < columns; j++) {
      difference = Math.max(difference, Math.abs(a[i * columns + j] - b[i * columns + j]));
      largest = Math.max(largest, Math.abs(b[i * columns + j]));
    }
  }
  return difference / largest;
}

/**
 * E[xxᵀ] summed in f32 without compensation, as a plain f32 GPU reduction would: `naive` adds each token's product
 * into one f32 per entry (a GEMM XᵀX over the token axis, fused multiply-add rounding), `blocked` sums 64-token
 * blocks in f32 and adds the block sums into one f32 (this kernel without its lo word).
 */
function plainF32(windows: readonly Float32Array[], columns: number): { naive: Float32Array; blocked: Float32Array; tokens: number } {
  const naive = new Float32Array(columns * columns);
  const blocked = new Float32Array(columns * columns);
  const partial = new Float32Array(columns * columns);
  let tokens = 0;
  for (const window of windows) {
    for (let row = 0; row < window.length; row += columns) {
      for (let i = 0; i < columns; i++) {
        const xi = window[row + i];
        for (let j = i; j < columns; j++) {
          // A Float32Array store rounds the f64 sum of the f32 value and the exact product once: an f32 FMA.
          naive[i * columns + j] += xi * window[row + j];
          partial[i * columns + j] += xi * window[row + j];
        }
      }
      tokens++;
      if (tokens % 64 === 0) {
        for (let e = 0; e < partial.length; e++) blocked[e] += partial[e];
        partial.fill(0);
      }
    }
  }
  for (let e = 0; e < partial.length; e++) blocked[e] += partial[e];
  return { naive, blocked, tokens };
}

describe.skipIf(!device)('GPU Hessians on real activations (stories260K layer 0, 100,708 calibration tokens)', () => {
  const gpu = device as GPUDevice;
  let inputs: ReturnType<typeof collectLayer0Inputs>;
  beforeAll(() => {
    inputs = collectLayer0Inputs();
  }, 300_000);
  afterAll(releaseTestDevice);

  for (const [group, columns] of [['attention-input', 64], ['mlp-hidden', 172]] as const) {
    it(`${group === 'attention-input' ? 'q/k/v' : 'down_proj'} input (n = ${columns}): the CPU Float64 Hessian within the f32 block bound, and its prepared factor`, async () => {
      const windows = inputs[group];
      expect(windows[0].length).toBe(windowLength * columns);
      const cpu = onCpu(windows, columns);
      expect(cpu.tokens).toBe(100_708);

      const accumulator = await createGpuHessianAccumulator(gpu, columns);
      const buffers = windows.map((window) => createBufferWithData(gpu, group, window));
      let result: FinalizedHessian;
      try {
        windows.forEach((window, index) => accumulator.accumulate(buffers[index], window.length / columns));
        result = finalizeHessian(hessianAccumulatorFromSums(await accumulator.read()));
      } finally {
        accumulator.destroy();
        for (const buffer of buffers) buffer.destroy();
      }
      expect(result.tokens).toBe(cpu.tokens);

      // Per entry, |ΔH| ≤ (γ₆₄ + blocks · 2⁻⁴⁶) E[|x||x|ᵀ] + 2⁻⁵⁰ |H|: one 64-term f32 dot product per block
      // (γₘ = m u / (1 − m u), u = 2⁻²⁴), ≈ 2⁻⁴⁷ of the running sum per compensated addition, f64 divisions.
      const absolute = onCpu(windows, columns, Math.abs);
      const factor = (64 * 2 ** -24) / (1 - 64 * 2 ** -24) + Math.floor(cpu.tokens / 64) * 2 ** -46;
      let worst = 0;
      for (let e = 0; e < cpu.data.length; e++) {
        worst = Math.max(worst, Math.abs(result.data[e] - cpu.data[e]) / (factor * absolute.data[e] + 2 ** -50 * Math.abs(cpu.data[e])));
      }
      expect(worst).toBeLessThanOrEqual(1);
      const relative = maxRelative(result.data, cpu.data, columns);

      // The factor the column loop uses, U = chol(H⁻¹) of the damped, permuted H. Perturbation theory only bounds
      // its relative change by about κ² times H's, with κ ≤ (n + 0.02) / 0.02 ≈ 51 n after the two 1% dampings: too
      // loose to test. Asserted: within 100 times H's own relative difference (measured 4× and 13×). The column
      // order must not change: the diagonals of these Hessians are far from ties.
      const preparedCpu = prepareHessian(cpu);
      const preparedGpu = prepareHessian(result);
      expect([...preparedGpu.perm]).toEqual([...preparedCpu.perm]);
      const factorRelative = maxRelative(preparedGpu.inverseCholesky, preparedCpu.inverseCholesky, columns);
      expect(factorRelative).toBeLessThan(100 * Math.max(relative, 2 ** -24));

      let plain = '';
      if (columns === 64) {
        // What the compensation buys, on the same stream (emulated: 0.6 s here, 7 s for n = 172).
        const { naive, blocked, tokens } = plainF32(windows, columns);
        const naiveRelative = maxRelative(Float64Array.from(naive, (value) => value / tokens), cpu.data, columns);
        const blockedRelative = maxRelative(Float64Array.from(blocked, (value) => value / tokens), cpu.data, columns);
        expect(relative).toBeLessThan(blockedRelative / 5);
        expect(relative).toBeLessThan(naiveRelative / 100);
        plain = `; plain f32: per token ${naiveRelative.toExponential(2)}, per 64-token block ${blockedRelative.toExponential(2)}`;
      }
      console.log(
        `GPU Hessian, stories260K layer 0 ${group} (n = ${columns}, ${cpu.tokens} tokens): max |ΔH| / max |H| ${relative.toExponential(2)} (worst entry at ${worst.toFixed(3)} of its bound), prepared factor U ${factorRelative.toExponential(2)}${plain}`,
      );
    });
  }
});
