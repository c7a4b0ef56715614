// Where a refinement round's refit goes on the GPU (issue 9): the inverse Cholesky kernels alone (one submit, no
// host conversions) beside `upperCholeskyOfInverseGpu` (uploads and readbacks included), and the refit engine at the
// 7B layer's shapes with the dense solver (auto), 25 and 100 matrix-free CG iterations (all run). One JSON line per row.
// Here, after building: `node benchmarks/refit-profile.mjs --divide 16` (lavapipe: shrunk cases).
// Device machine: bundled by scripts/device-bundle.sh into .device/refit-profile.mjs.
import { createNodeDevice } from '../packages/vptq/dist/node.js';
import { benchmarkRefit } from '../packages/kernels-webgpu/dist/bench.js';
import { createInverseCholeskyDispatch, upperCholeskyOfInverseGpu } from '../packages/kernels-webgpu/dist/quantize.js';

const args = process.argv.slice(2);
const divideAt = args.indexOf('--divide');
const divide = divideAt >= 0 ? Number(args[divideAt + 1]) : 1;
const print = (kind, row) => process.stdout.write(`${JSON.stringify({ kind, ...row })}\n`);

const { device } = await createNodeDevice();
try {
  for (const size of [4096, 11008].map((n) => Math.round(n / divide))) {
    const data = new Float64Array(size * size);
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < i; j++) data[i * size + j] = data[j * size + i] = Math.sin(i * 7 + j * 13) / size;
      data[i * size + i] = 2;
    }
    await upperCholeskyOfInverseGpu(device, { data, size });
    let started = performance.now();
    await upperCholeskyOfInverseGpu(device, { data, size });
    const totalMilliseconds = performance.now() - started;
    // The kernels alone on a well-conditioned f32 matrix (rewritten before every run: the factorization is in place).
    const f32 = Float32Array.from(data);
    const usage = 0x80 | 0x08 | 0x04; // STORAGE | COPY_DST | COPY_SRC (no GPUBufferUsage global in Node)
    const matrix = device.createBuffer({ size: f32.byteLength, usage });
    const inverse = device.createBuffer({ size: f32.byteLength, usage });
    const status = device.createBuffer({ size: 16, usage });
    const dispatch = await createInverseCholeskyDispatch(device, { matrix, inverse, status }, { size });
    const kernelRuns = [];
    for (let run = 0; run < 4; run++) {
      device.queue.writeBuffer(matrix, 0, f32);
      device.queue.writeBuffer(status, 0, new Uint32Array([0xffffffff, 0, 0, 0]));
      await device.queue.onSubmittedWorkDone();
      started = performance.now();
      const encoder = device.createCommandEncoder();
      encoder.clearBuffer(inverse);
      const pass = encoder.beginComputePass();
      dispatch.encode(pass);
      pass.end();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      kernelRuns.push(performance.now() - started);
    }
    dispatch.destroy();
    for (const buffer of [matrix, inverse, status]) buffer.destroy();
    print('inverse-cholesky', { size, totalMilliseconds, kernelMilliseconds: kernelRuns.slice(1).sort((a, b) => a - b)[1] });
  }
  const side = (n) => Math.round(n / divide);
  const k = Math.max(2, 4096 / (divide * divide));
  const cases = [
    [4096, 4096],
    [11008, 4096],
    [4096, 11008],
  ].map(([rows, cols]) => ({ rows: side(rows), cols: side(cols), vectorLength: 6, numCentroids: k }));
  // cgTolerance 0 runs every iteration: the synthetic H̃ converges faster than a real one.
  const engines = [{}, { solver: 'cg', cgIterations: 25, cgTolerance: 0 }, { solver: 'cg', cgTolerance: 0 }];
  for (const row of await benchmarkRefit(device, { cases, engines, refits: 1 })) print('refit', row);
} finally {
  device.destroy();
}
