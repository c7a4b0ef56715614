// The quantizer's GPU kernels one by one at the sizes (issue 9): k-means steps (assignment + deterministic
// reduction), the Hessian accumulator, full column-loop passes, the inverse Cholesky factor. One JSON line per row.
// Here, after building: `node benchmarks/quantize-kernels.mjs --divide 16` (lavapipe: shrunk cases).
// Device machine: `pnpm exec esbuild benchmarks/quantize-kernels.mjs --bundle --platform=node --format=esm
//   --external:webgpu --outfile=.device/quantize-kernels.mjs`, then `node .device/quantize-kernels.mjs`.
import { createNodeDevice } from '../packages/vptq/dist/node.js';
import { benchmarkHessianAccumulator, benchmarkKmeans, benchmarkVptqPass, vptqPassTargets } from '../packages/kernels-webgpu/dist/bench.js';
import { upperCholeskyOfInverseGpu } from '../packages/kernels-webgpu/dist/quantize.js';

const args = process.argv.slice(2);
const divideAt = args.indexOf('--divide');
const divide = divideAt >= 0 ? Number(args[divideAt + 1]) : 1;
const print = (kind, row) => process.stdout.write(`${JSON.stringify({ kind, ...row })}\n`);

const { device, info } = await createNodeDevice();
print('device', { adapter: info.adapterInfo, limits: info.limits });
try {
  for (const row of await benchmarkKmeans(device, { sizeDivisor: divide * divide, steps: 5, kernelTimes: true })) print('kmeans', row);
  for (const row of await benchmarkHessianAccumulator(device, { columns: [4096 / divide, 11008 / divide].map(Math.round), tokensPerCall: 4096, calls: 8 })) print('hessian', row);
  const cases = vptqPassTargets.map((c) => ({
    ...c,
    rows: c.rows / divide,
    cols: c.cols / divide,
    numCentroids: Math.max(2, c.numCentroids / (divide * divide)),
    ...(c.numResidualCentroids ? { numResidualCentroids: Math.max(2, c.numResidualCentroids / (divide * divide)) } : {}),
  }));
  for (const row of await benchmarkVptqPass(device, { cases, passes: 2 })) print('vptq-pass', row);
  for (const size of [4096, 11008].map((n) => Math.round(n / divide))) {
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
    print('inverse-cholesky', { size, firstMilliseconds: first, milliseconds: performance.now() - started });
  }
} finally {
  device.destroy();
}
