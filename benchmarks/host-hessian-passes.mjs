#!/usr/bin/env node
// Host time of the n² steps that `vptq quantize --device gpu` ran on the CPU before the Hessians stayed on the GPU
// (commit cf8a4af), at a LLaMA-2-7B layer's widths, timed with the library's own functions where they are public and
// with loops of the same shape where they are internal (marked "≈"). The GPU kernels that replace them are not timed
// here (no GPU on this machine). Usage, after `pnpm exec turbo run build`: node benchmarks/host-hessian-passes.mjs
import { finalizeHessian, hessianAccumulatorFromSums, prepareHessianAsync } from '../packages/hessian/dist/index.js';

const time = (fn) => {
  const started = performance.now();
  const value = fn();
  return [value, (performance.now() - started) / 1000];
};
const timeAsync = async (fn) => {
  const started = performance.now();
  const value = await fn();
  return [value, (performance.now() - started) / 1000];
};

/** A symmetric positive definite-looking E[xxᵀ]·tokens (diagonally dominant), upper triangle filled. */
function sums(n, tokens) {
  const sumOuter = new Float64Array(n * n);
  let seed = 1;
  for (let i = 0; i < n; i++) {
    const row = i * n;
    for (let j = i; j < n; j++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      sumOuter[row + j] = i === j ? tokens * (n + (seed % 7)) : tokens * ((seed / 2147483648) - 0.5);
    }
  }
  return { columns: n, sumOuter, sum: new Float64Array(n), tokens };
}

const rows = [];
// Per layer: q/k/v share one 4096 group, o one, gate/up one, down one 11008 group; projections per group.
for (const [n, projections, uses] of [[4096, 3, 'q/k/v input'], [4096, 1, 'o input'], [4096, 2, 'gate/up input'], [11008, 1, 'down input']]) {
  const raw = sums(n, 65536);
  const [finalized, finalize] = time(() => finalizeHessian(hessianAccumulatorFromSums(raw)));
  // The preparation's host passes; the factorization (on the GPU before and after) replaced by a diagonal U.
  const factorize = async (matrix) => {
    // ≈ upperCholeskyOfInverseGpu's host side: A rounded into the upload, U widened out of the readback.
    const upload = new Float32Array(matrix.size * matrix.size);
    for (let i = 0; i < upload.length; i++) upload[i] = matrix.data[i];
    const factor = new Float64Array(matrix.size * matrix.size);
    for (let i = 0; i < factor.length; i++) factor[i] = upload[i];
    for (let p = 0; p < matrix.size; p++) factor[p * matrix.size + p] = 1 / Math.sqrt(matrix.data[p * matrix.size + p]);
    for (let p = 0; p < matrix.size; p++) for (let q = 0; q < p; q++) factor[p * matrix.size + q] = 0;
    return factor;
  };
  const [prepared, prepare] = await timeAsync(() => prepareHessianAsync(finalized, { factorize }));
  // Per projection: ≈ readPrepared's finiteness scan of U, the session's U·D⁻¹ and H as f32, and the refit's D·H·D
  // in f64 rounded into its upload.
  const [, perProjection] = time(() => {
    const { inverseCholesky: u, hessian: h } = prepared;
    let finite = 0;
    for (let i = 0; i < u.length; i++) finite += u[i] - u[i];
    const factors = new Float32Array(n * n);
    for (let c = 0; c < n; c++) for (let j = c; j < n; j++) factors[c * n + j] = u[c * n + j] / 1.5;
    const hf = new Float32Array(n * n);
    hf.set(h);
    const scaled = new Float64Array(n * n);
    for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) scaled[a * n + b] = 1.5 * h[a * n + b] * 1.5;
    const upload = new Float32Array(n * n);
    upload.set(scaled);
    return finite;
  });
  rows.push({ n, uses, finalize, prepare, perProjection, projections, total: finalize + prepare + projections * perProjection });
}
const total = rows.reduce((sum, row) => sum + row.total, 0);
process.stdout.write('| Hessian group | n | finalize (s) | prepare, host passes (s) | per projection (s) | projections | total (s) |\n| --- | --- | --- | --- | --- | --- | --- |\n');
for (const row of rows) {
  process.stdout.write(`| ${row.uses} | ${row.n} | ${row.finalize.toFixed(2)} | ${row.prepare.toFixed(2)} | ${row.perProjection.toFixed(2)} | ${row.projections} | ${row.total.toFixed(2)} |\n`);
}
process.stdout.write(`| one layer | | | | | 7 | ${total.toFixed(2)} |\n`);
process.stdout.write(`${JSON.stringify({ rows, total })}\n`);
