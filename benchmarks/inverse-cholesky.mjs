// Times the Hessian preparation's O(n³) step, the upper Cholesky factor of the inverse (issue 9): on the GPU
// (`upperCholeskyOfInverseGpu`, f32) and, up to --cpu-max, on the CPU (`prepareHessian`, f64, one JS thread).
// Here, after building @vptq/hessian and @vptq/kernels-webgpu:
//     node benchmarks/inverse-cholesky.mjs 256 512 --cpu-max 512
//     node benchmarks/inverse-cholesky.mjs 1024 2048 4096 --cpu-only     (the CPU figures of hessian's README)
// On the GPU machine, from the main checkout (device-prep needs its .git directory):
//     bash ../shared/gpu/device-prep.sh
//     pnpm exec esbuild benchmarks/inverse-cholesky.mjs --bundle --platform=node --format=esm --external:webgpu \
//       --outfile=.device/inverse-cholesky.mjs
//     device run, carry [".device"]: source .device/enter.sh; node .device/inverse-cholesky.mjs 4096 11008 14336
// Prints one line per size: GPU time of the recorded dispatch (timestamp queries when the device has them,
// else submit-to-done wall time), the one-shot call (f64 → f32, upload, factorization, readback, f32 → f64),
// the whole prepareHessianAsync with the GPU factorization, and the CPU prepareHessian.
import { createRequire } from 'node:module';

import { prepareHessian, prepareHessianAsync, upperCholeskyOfInverse } from '../packages/hessian/dist/index.js';
import { acquireDevice } from '../packages/kernels-webgpu/dist/index.js';
import { bufferUsage, createBufferWithData, createStorageBuffer, readBuffer } from '../packages/kernels-webgpu/dist/authoring.js';
import { createInverseCholeskyDispatch, upperCholeskyOfInverseGpu } from '../packages/kernels-webgpu/dist/quantize.js';

const args = process.argv.slice(2);
const cpuMaxIndex = args.indexOf('--cpu-max');
const cpuMax = cpuMaxIndex >= 0 ? Number(args.splice(cpuMaxIndex, 2)[1]) : 2048;
const cpuOnlyIndex = args.indexOf('--cpu-only');
const cpuOnly = cpuOnlyIndex >= 0 && args.splice(cpuOnlyIndex, 1).length > 0;
const sizes = args.length > 0 ? args.map(Number) : [1024, 4096, 11008, 14336];

/** A symmetric, diagonally dominant (so positive definite) `[n, n]` f64 matrix in O(n²): no pivoting, so the values do not change the cost. */
function spdMatrix(size) {
  let state = 12345;
  const next = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32) - 0.5;
  const data = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < i; j++) {
      const value = next() / size;
      data[i * size + j] = value;
      data[j * size + i] = value;
    }
    data[i * size + i] = 1 + next() * 0.5;
  }
  return data;
}

async function time(action) {
  const start = performance.now();
  const result = await action();
  return { milliseconds: performance.now() - start, result };
}

if (cpuOnly) {
  for (const size of sizes) {
    const { milliseconds } = await time(() => prepareHessian({ data: spdMatrix(size), size }));
    console.log(`n=${size}: CPU prepareHessian ${(milliseconds / 1000).toFixed(2)} s (${((milliseconds * 1e6) / size ** 3).toFixed(2)} ns × n³)`);
  }
  process.exit(0);
}

// The bundle on the GPU machine finds 'webgpu' in .device/node_modules; here it is a devDependency of test-utils.
const { create } = await import('webgpu').catch(() =>
  import(createRequire(new URL('../tools/test-utils/package.json', import.meta.url)).resolve('webgpu')),
);
// Dawn keeps a raw pointer to this object: hold it globally until the device is destroyed.
globalThis.dawnGpu = create(['disable-dawn-features=timestamp_quantization']);
const { device, info } = await acquireDevice(globalThis.dawnGpu);
console.log(`${info.adapterInfo.vendor} ${info.adapterInfo.device}; maxStorageBufferBindingSize ${info.limits.maxStorageBufferBindingSize}, maxBufferSize ${info.limits.maxBufferSize}`);

async function gpuMilliseconds(data, size, repeats) {
  const values = new Float32Array(data);
  const matrix = createBufferWithData(device, 'bench/matrix', values);
  const inverse = createStorageBuffer(device, 'bench/inverse', values.byteLength);
  const status = createBufferWithData(device, 'bench/status', new Uint32Array([0xffffffff, 0]));
  const dispatch = await createInverseCholeskyDispatch(device, { matrix, inverse, status }, { size });
  const timestamps = device.features.has('timestamp-query');
  const querySet = timestamps ? device.createQuerySet({ type: 'timestamp', count: 2 }) : undefined;
  const resolved = timestamps
    ? device.createBuffer({ label: 'bench/timestamps', size: 16, usage: bufferUsage.queryResolve | bufferUsage.copySrc })
    : undefined;
  let best = Infinity;
  for (let run = 0; run < repeats; run++) {
    device.queue.writeBuffer(matrix, 0, values);
    device.queue.writeBuffer(status, 0, new Uint32Array([0xffffffff, 0]));
    const encoder = device.createCommandEncoder();
    encoder.clearBuffer(inverse);
    const pass = encoder.beginComputePass(querySet ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {});
    dispatch.encode(pass);
    pass.end();
    if (querySet) encoder.resolveQuerySet(querySet, 0, 2, resolved, 0);
    await device.queue.onSubmittedWorkDone();
    const start = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    let milliseconds = performance.now() - start;
    if (resolved) {
      const [begin, end] = new BigUint64Array(await readBuffer(device, resolved));
      milliseconds = Number(end - begin) / 1e6;
    }
    best = Math.min(best, milliseconds);
  }
  const [failed] = new Uint32Array(await readBuffer(device, status));
  if (failed !== 0xffffffff) throw new Error(`bench: the matrix of size ${size} failed at pivot ${failed}`);
  dispatch.destroy();
  for (const buffer of [matrix, inverse, status, resolved]) buffer?.destroy();
  querySet?.destroy();
  return { best, timestamps };
}

for (const size of sizes) {
  const data = spdMatrix(size);
  const gpu = await gpuMilliseconds(data, size, 3);
  const oneShot = await time(() => upperCholeskyOfInverseGpu(device, { data, size }));
  const prepared = await time(() => prepareHessianAsync({ data, size }, { factorize: (matrix) => upperCholeskyOfInverseGpu(device, matrix) }));
  const flops = (2 / 3) * size ** 3;
  let line = `n=${size}: GPU ${gpu.best.toFixed(1)} ms (${gpu.timestamps ? 'timestamps' : 'wall'}, ${(flops / gpu.best / 1e6).toFixed(0)} GFLOP/s), one-shot ${oneShot.milliseconds.toFixed(0)} ms, prepareHessianAsync ${prepared.milliseconds.toFixed(0)} ms`;
  if (size <= cpuMax) {
    const cpu = await time(() => prepareHessian({ data, size }));
    const reference = upperCholeskyOfInverse({ data, size }).data;
    let difference = 0;
    let norm = 0;
    for (let i = 0; i < reference.length; i++) {
      difference += (oneShot.result[i] - reference[i]) ** 2;
      norm += reference[i] ** 2;
    }
    line += `, CPU prepareHessian ${cpu.milliseconds.toFixed(0)} ms, ‖U_gpu − U_cpu‖/‖U_cpu‖ ${Math.sqrt(difference / norm).toExponential(2)}`;
  }
  console.log(line);
}
device.destroy();
delete globalThis.dawnGpu;
