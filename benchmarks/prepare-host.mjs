// The host's share of the GPU quantizer's "prepare" phase, by function: run with a CPU profile on any adapter
// (lavapipe works; its GPU time shows as idle), after `pnpm exec turbo run build`:
//   eval "$(bash ../shared/gpu/lavapipe.sh)"; node --cpu-prof --cpu-prof-dir=/tmp/prof benchmarks/prepare-host.mjs [n]
// It prepares a synthetic n × n Hessian (default 4096) with the factorization replaced by the host conversions
// around the GPU one (round to f32 with a finiteness scan, widen a diagonal factor back to f64), then runs
// quantizeVptqLayerAsync with the GPU engines up to its first report (v6-k4096; STOP_AT=<phase> up to that phase's),
// printing the wall time
// of each part; the profile names the functions inside them. PREPARE_ONLY=1 skips the GPU part (no adapter).
import { createRequire } from 'node:module';
import { acquireDevice } from '../packages/kernels-webgpu/dist/index.js';
import { createGpuKmeansEngine, createGpuRefitEngine, createGpuVptqPassEngine } from '../packages/kernels-webgpu/dist/quantize.js';
import { quantizeVptqLayerAsync } from '../packages/codebook/dist/index.js';
import { prepareHessianAsync } from '../packages/hessian/dist/index.js';

const n = Number(process.argv[2] ?? 4096);
let seed = 1;
const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
// Diagonally dominant and symmetric: positive definite, so the preparation takes its normal path.
const hessian = new Float32Array(n * n);
for (let i = 0; i < n; i++) {
  for (let j = 0; j <= i; j++) {
    const value = i === j ? n * (1 + random()) : random() - 0.5;
    hessian[i * n + j] = value;
    hessian[j * n + i] = value;
  }
}
const weight = { data: Float32Array.from({ length: n * n }, () => random() - 0.5), rows: n, cols: n };

const times = {};
let last = performance.now();
const mark = (name) => {
  const now = performance.now();
  times[name] = (times[name] ?? 0) + now - last;
  last = now;
};
const prepared = await prepareHessianAsync(
  { data: hessian, size: n },
  {
    factorize: async (matrix) => {
      mark('preparation steps');
      const rounded = new Float32Array(matrix.data);
      for (let i = 0; i < rounded.length; i++) if (rounded[i] - rounded[i] !== 0) throw new RangeError(`not finite at ${i}`);
      const factor = new Float64Array(n * n);
      for (let i = 0; i < n; i++) factor[i * n + i] = 1 / Math.sqrt(matrix.data[i * n + i]);
      mark('factorization stand-in (conversions)');
      return factor;
    },
  },
);
mark('preparation steps');
if (process.env.PREPARE_ONLY !== '1') {
  // webgpu is a dependency of the vptq package, not of the workspace root.
  const { create, globals } = createRequire(new URL('../packages/vptq/package.json', import.meta.url))('webgpu');
  Object.assign(globalThis, globals);
  globalThis.__vptqDawn = create(['disable-dawn-features=timestamp_quantization']);
  const { device } = await acquireDevice(globalThis.__vptqDawn);
  mark('device');
  class FirstReport extends Error {}
  try {
    await quantizeVptqLayerAsync(weight, prepared, {
      vectorLength: 6,
      numCentroids: 4096,
      numResidualCentroids: 0,
      kmeansIterations: 1,
      refineIterations: 0,
      storageDtype: 'F16',
      engine: createGpuVptqPassEngine(device),
      kmeansEngine: createGpuKmeansEngine(device),
      refitEngine: createGpuRefitEngine(device),
      // STOP_AT=column-loop goes on through the one k-means iteration (its point upload included).
      onProgress: (phase) => {
        if (phase === (process.env.STOP_AT ?? phase)) throw new FirstReport();
      },
    });
  } catch (error) {
    if (!(error instanceof FirstReport)) throw error;
  }
  mark('quantizer up to k-means (GPU included)');
}
for (const [name, ms] of Object.entries(times)) console.log(`${name.padEnd(42)} ${ms.toFixed(0).padStart(7)} ms`);
process.exit(0);
