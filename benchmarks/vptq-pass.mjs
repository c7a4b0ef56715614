// Times the GPU column loop of the VPTQ quantizer (benchmarkVptqPass of @vptq/kernels-webgpu/bench) at the issue's
// target shapes and checks the GPU proxy error against f64 on a layer with a strongly correlated H. Here:
//   pnpm exec turbo run build --filter=@vptq/kernels-webgpu... && bash ../shared/gpu/device-prep.sh
//   pnpm exec esbuild benchmarks/vptq-pass.mjs --bundle --platform=node --format=esm --target=node20 \
//     --external:webgpu --outfile=.device/vptq-pass.mjs
// (in a git worktree, device-prep.sh's `mkdir .git/info` fails: .device/ is already git-ignored, run its other lines)
// On the device (carry [".device"]):
//   source .device/enter.sh; node .device/vptq-pass.mjs small|big|all '<JSON list of GpuVptqPassOptions>' <passes> [precision]
// e.g. node .device/vptq-pass.mjs all '[{},{"searchSlices":1},{"pointsPerWorkgroup":32}]' 3 precision
import { create } from 'webgpu';
import { acquireDevice } from '../packages/kernels-webgpu/dist/index.js';
import { benchmarkVptqPass, vptqPassTargets } from '../packages/kernels-webgpu/dist/bench.js';
import { createGpuVptqPassEngine } from '../packages/kernels-webgpu/dist/quantize.js';

const gpu = create([]);
globalThis.__keepGpu = gpu;
const { device, info } = await acquireDevice(gpu);
console.log(info.adapterInfo.device, JSON.stringify(info.features));
const which = process.argv[2] ?? 'all';
const engines = JSON.parse(process.argv[3] ?? '[{}]');
const passes = Number(process.argv[4] ?? 3);
const cases = which === 'small' ? [vptqPassTargets[0]] : which === 'big' ? [vptqPassTargets[1]] : vptqPassTargets;
for (const row of await benchmarkVptqPass(device, { cases, engines, passes })) {
  console.log(JSON.stringify({ ...row, passMs: row.passMs.map((t) => Math.round(t)), openMs: Math.round(row.openMs), firstPassMs: Math.round(row.firstPassMs), measureMs: Math.round(row.measureMs) }));
}
if (process.argv[5] === 'precision') {
  // GPU proxy error vs f64 on a layer with a strongly correlated H (x = z·M, M = I + 0.5·N(0,1)), in = 1024.
  let state = 12345;
  const uniform = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  const rows = 2048, cols = 1024, samples = 2048;
  const mixing = Float64Array.from({ length: cols * cols }, (_, i) => (i % (cols + 1) === 0 ? 1 : 0) + 0.5 * gaussian());
  const x = new Float64Array(samples * cols);
  const z = new Float64Array(cols);
  for (let s = 0; s < samples; s++) {
    for (let i = 0; i < cols; i++) z[i] = gaussian();
    for (let i = 0; i < cols; i++) { const zi = z[i]; const row = i * cols; for (let j = 0; j < cols; j++) x[s * cols + j] += zi * mixing[row + j]; }
  }
  const hessian = new Float64Array(cols * cols);
  for (let s = 0; s < samples; s++) { const o = s * cols; for (let i = 0; i < cols; i++) { const xi = x[o + i] / samples; for (let j = 0; j < cols; j++) hessian[i * cols + j] += xi * x[o + j]; } }
  for (let i = 0; i < cols; i++) hessian[i * cols + i] += 1e-3;
  const start = Float32Array.from({ length: rows * cols }, uniform);
  const quantized = start.map((v) => v + 0.02 * (uniform() - 0.5));
  const weightData = new Float32Array(rows * cols);
  for (let c = 0; c < cols; c++) for (let r = 0; r < rows; r++) weightData[r * cols + c] = start[c * rows + r];
  const u = new Float64Array(cols * cols); for (let c = 0; c < cols; c++) u[c * cols + c] = 1;
  const layer = { rows, cols, start, inverseCholesky: u, columnScale: undefined, blockSize: 128, parts: [{ start: 0, size: cols, vectorLength: 8, vectorRows: rows / 8, numCentroids: 16, numResidualCentroids: 0 }], weight: { data: weightData, rows, cols }, hessian, perm: Uint32Array.from({ length: cols }, (_, i) => i), norm: undefined };
  const session = await createGpuVptqPassEngine(device).openLayer(layer);
  const gpuError = await session.measure(quantized);
  session.close();
  const form = (v) => { let total = 0; const hv = new Float64Array(cols); for (let r = 0; r < rows; r++) { hv.fill(0); for (let i = 0; i < cols; i++) { const vi = v(i, r); const row = i * cols; for (let j = 0; j < cols; j++) hv[j] += hessian[row + j] * vi; } for (let j = 0; j < cols; j++) total += hv[j] * v(j, r); } return total; };
  const cpuError = form((c, r) => Math.fround(quantized[c * rows + r] - start[c * rows + r])) / form((c, r) => start[c * rows + r]);
  let ratio = 0; // Σ|Δ||H||Δ| / ΔHΔ for row 0: how much the quadratic form cancels
  { let absForm = 0, signed = 0; for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) { const a = quantized[i * rows] - start[i * rows], b = quantized[j * rows] - start[j * rows]; absForm += Math.abs(a * hessian[i * cols + j] * b); signed += a * hessian[i * cols + j] * b; } ratio = absForm / signed; }
  console.log(JSON.stringify({ precision: { rows, cols, gpuError, cpuError, relative: Math.abs(gpuError - cpuError) / cpuError, cancellation: ratio } }));
}
device.destroy();
