// The quantizer's GPU kernels one by one at the sizes (issue 9): k-means steps (assignment + deterministic
// reduction), the Hessian accumulator, full column-loop passes, the inverse Cholesky factor (with and without the host's
// conversions). One JSON line per row.
// Here, after building: `node benchmarks/quantize-kernels.mjs --divide 16` (lavapipe: shrunk cases).
// `--only kmeans,kmeans-run,hessian,pass,cholesky` picks parts (kmeans-run: whole runs of `--kmeans-iterations`, default
// 100, full scan against bounds, or the GpuKmeansEngineOptions of `--kmeans-engines '[{"bounds":false},{"maxMovers":32}]'`); `--pass-engines '[{"columnLoop":"per-column"},{}]'` compares
// column-loop tunings (GpuVptqPassOptions) on every pass case; `--pass-cases all` adds 4096×11008 (down_proj) at v6-k4096.
// Device machine: `pnpm exec esbuild benchmarks/quantize-kernels.mjs --bundle --platform=node --format=esm
//   --external:webgpu --outfile=.device/quantize-kernels.mjs`, then `node .device/quantize-kernels.mjs`.
import { createNodeDevice } from '../packages/vptq/dist/node.js';
import { benchmarkHessianAccumulator, benchmarkKmeans, benchmarkVptqPass, vptqPassTargets } from '../packages/kernels-webgpu/dist/bench.js';
import { createInverseCholeskyDispatch, upperCholeskyOfInverseGpu } from '../packages/kernels-webgpu/dist/quantize.js';

const args = process.argv.slice(2);
const divideAt = args.indexOf('--divide');
const divide = divideAt >= 0 ? Number(args[divideAt + 1]) : 1;
const print = (kind, row) => process.stdout.write(`${JSON.stringify({ kind, ...row })}\n`);
const option = (name) => (args.indexOf(name) >= 0 ? args[args.indexOf(name) + 1] : undefined);
const only = option('--only')?.split(',');
const runs = (part) => only === undefined || only.includes(part);
const engines = option('--pass-engines') === undefined ? undefined : JSON.parse(option('--pass-engines'));
const kmeansIterations = Number(option('--kmeans-iterations') ?? 100);
const kmeansEngines = JSON.parse(option('--kmeans-engines') ?? '[{"bounds":false},{}]');
const passTargets = option('--pass-cases') === 'all' ? [...vptqPassTargets, { rows: 4096, cols: 11008, vectorLength: 6, numCentroids: 4096 }] : vptqPassTargets;

const { device, info } = await createNodeDevice();
print('device', { adapter: info.adapterInfo, limits: info.limits });
try {
  if (runs('kmeans')) for (const row of await benchmarkKmeans(device, { sizeDivisor: divide * divide, steps: 5, kernelTimes: true })) print('kmeans', row);
  // Whole runs (random init, tolerance 0): the full scan as the baseline, then the bounded assignment (the default)
  // and any other engine options of --kmeans-engines.
  for (const engine of runs('kmeans-run') ? kmeansEngines : []) {
    for (const row of await benchmarkKmeans(device, { sizeDivisor: divide * divide, steps: 1, iterations: kmeansIterations, engine })) print('kmeans-run', { engine, ...row });
  }
  if (runs('hessian')) for (const row of await benchmarkHessianAccumulator(device, { columns: [4096 / divide, 11008 / divide].map(Math.round), tokensPerCall: 4096, calls: 8 })) print('hessian', row);
  const cases = passTargets.map((c) => ({
    ...c,
    rows: c.rows / divide,
    cols: c.cols / divide,
    numCentroids: Math.max(2, c.numCentroids / (divide * divide)),
    ...(c.numResidualCentroids ? { numResidualCentroids: Math.max(2, c.numResidualCentroids / (divide * divide)) } : {}),
  }));
  if (runs('pass')) for (const row of await benchmarkVptqPass(device, { cases, passes: 2, engines })) print('vptq-pass', row);
  for (const size of runs('cholesky') ? [4096, 11008].map((n) => Math.round(n / divide)) : []) {
    const data = new Float64Array(size * size);
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < i; j++) data[i * size + j] = data[j * size + i] = Math.sin(i * 7 + j * 13) / size;
      data[i * size + i] = 2;
    }
    let started = performance.now();
    await upperCholeskyOfInverseGpu(device, { data, size });
    const first = performance.now() - started;
    started = performance.now();
    await upperCholeskyOfInverseGpu(device, { data, size });
    const milliseconds = performance.now() - started;
    print('inverse-cholesky', { size, firstMilliseconds: first, milliseconds, kernelMilliseconds: await timeInverseCholeskyKernels(data, size) });
  }
} finally {
  device.destroy();
}

/** The factorization's kernels alone (one submit, no host conversions), median of 3 after one warm-up run. */
async function timeInverseCholeskyKernels(data, size) {
  // The factorization is in place: the f32 matrix is written again before every run.
  const f32 = Float32Array.from(data);
  const usage = 0x80 | 0x08 | 0x04; // STORAGE | COPY_DST | COPY_SRC (no GPUBufferUsage global in Node)
  const matrix = device.createBuffer({ size: f32.byteLength, usage });
  const inverse = device.createBuffer({ size: f32.byteLength, usage });
  const status = device.createBuffer({ size: 16, usage });
  const dispatch = await createInverseCholeskyDispatch(device, { matrix, inverse, status }, { size });
  const runs = [];
  try {
    for (let run = 0; run < 4; run++) {
      device.queue.writeBuffer(matrix, 0, f32);
      device.queue.writeBuffer(status, 0, new Uint32Array([0xffffffff, 0, 0, 0]));
      await device.queue.onSubmittedWorkDone();
      const started = performance.now();
      const encoder = device.createCommandEncoder();
      encoder.clearBuffer(inverse);
      const pass = encoder.beginComputePass();
      dispatch.encode(pass);
      pass.end();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      runs.push(performance.now() - started);
    }
  } finally {
    dispatch.destroy();
    for (const buffer of [matrix, inverse, status]) buffer.destroy();
  }
  return runs.slice(1).sort((a, b) => a - b)[1];
}
