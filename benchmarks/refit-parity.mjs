// The GPU codebook refit (createGpuRefitEngine) against the CPU refit (refitCodebooks, f64) on real layers: the
// linears of one decoder layer of a fixture model, with Hessians of real activations (calibration text through the
// full-precision CPU model). Here, after `pnpm exec turbo run build`, with a WebGPU adapter (lavapipe:
// `eval "$(bash ../shared/gpu/lavapipe.sh)"`):
//     node benchmarks/refit-parity.mjs [--model babyllama|stories260K] [--layer 0] [--tokens 16384] [--rounds 4]
// For every linear it prints:
//   - one refit of the first refinement round's indices, CPU vs GPU (auto: dense Cholesky-preconditioned CG) and
//     the GPU's matrix-free Jacobi CG at 5, 10, 25, 50 and 100 iterations: the share of the CPU's decrease of the
//     refit objective Σ_o (q_o − t_o)ᵀ·H̃·(q_o − t_o) that each misses (0 = the CPU's optimum, f64);
//   - the whole quantizer (CPU column loops, k-means on the CPU) with the CPU refit and with the GPU refit: the proxy
//     error of the first refinement round's loop (the same indices went into both refits) and the final `after`,
//     with their relative differences (later rounds start from different indices once a near-tie flips).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import { quantizeVptqLayer, quantizeVptqLayerAsync } from '../packages/codebook/dist/index.js';
import { cpuVptqRefitEngine } from '../packages/codebook/dist/engine.js';
import { accumulateHessian, createHessianAccumulator, finalizeHessian, prepareHessian } from '../packages/hessian/dist/index.js';
import { acquireDevice } from '../packages/kernels-webgpu/dist/index.js';
import { createGpuRefitEngine } from '../packages/kernels-webgpu/dist/quantize.js';
import { listLinearSpecs, loadTokenizer, openModel } from '../packages/loader/dist/index.js';
import { createCpuModel, loadWeights } from '../packages/runtime/dist/index.js';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : fallback;
};
const fixtures = new URL('../../shared/fixtures/', import.meta.url);
const models = {
  babyllama: ['en10-babyllama-tok105/model5000.bin', 'en10-babyllama-tok105/tok105.bin'],
  stories260K: ['karpathy-tinyllamas-stories260K/stories260K.bin', 'karpathy-tinyllamas-stories260K/tok512.bin'],
};
const [modelFile, tokenizerFile] = models[option('model', 'babyllama')];
const layerIndex = Number(option('layer', '0'));
const maxTokens = Number(option('tokens', '16384'));
const rounds = Number(option('rounds', '4'));

const { create } = await import('webgpu').catch(() => import(createRequire(new URL('../tools/test-utils/package.json', import.meta.url)).resolve('webgpu')));
globalThis.dawnGpu = create([]);
const { device } = await acquireDevice(globalThis.dawnGpu);

const source = openModel(new URL(modelFile, fixtures).pathname);
const tokenizer = loadTokenizer(new URL(tokenizerFile, fixtures).pathname);
const weights = loadWeights(source);
const model = createCpuModel(weights);
const text = readFileSync(new URL('tinystories-train-head/tinystories.txt', fixtures), 'utf8');
const tokens = tokenizer.encode(text, { bos: true }).slice(0, maxTokens);
const config = source.config;
const accumulators = {};
for (const spec of listLinearSpecs(config)) if (spec.layer === layerIndex) accumulators[spec.input] ??= createHessianAccumulator(spec.inFeatures);
const window = config.maxPositionEmbeddings;
for (let start = 0; start < tokens.length; start += window) {
  model.reset();
  model.forward(tokens.slice(start, start + window), 0, {
    onLinearInput: (event) => {
      if (event.layer === layerIndex) accumulateHessian(accumulators[event.group], event.input, event.tokens);
    },
  });
}

/** The refit objective Σ_o (q_o − t_o)ᵀ·H̃·(q_o − t_o) in f64 (t, H̃ from the refit layer, indices from the request). */
function objective(layer, assignments, codebooks, residualCodebooks) {
  const { rows, cols, hessian, target, parts } = layer;
  const difference = new Float64Array(rows * cols);
  parts.forEach((part, p) => {
    const { indices, residualIndices } = assignments[p];
    for (let local = 0; local < part.size; local++) {
      for (let o = 0; o < rows; o++) {
        const r = Math.floor(o / part.vectorLength);
        const j = o % part.vectorLength;
        let value = codebooks[p][indices[r * part.size + local] * part.vectorLength + j];
        if (residualCodebooks[p] !== undefined) value += residualCodebooks[p][residualIndices[r * part.size + local] * part.vectorLength + j];
        difference[o * cols + part.start + local] = value - target[(part.start + local) * rows + o];
      }
    }
  });
  let total = 0;
  for (let o = 0; o < rows; o++) {
    for (let a = 0; a < cols; a++) {
      let sum = 0;
      for (let b = 0; b < cols; b++) sum += hessian[a * cols + b] * difference[o * cols + b];
      total += difference[o * cols + a] * sum;
    }
  }
  return total;
}

const layouts = {
  'v8-K256-Kr256': { vectorLength: 8, numCentroids: 256, numResidualCentroids: 256 },
  'v4-K1024': { vectorLength: 4, numCentroids: 1024 },
  'v4-K256 + 2% outliers vo 2 Ko 64': { vectorLength: 4, numCentroids: 256, outlierPercent: 2, outlierVectorLength: 2, numOutlierCentroids: 64 },
};
const fixed = (value) => value.toExponential(2);
for (const spec of listLinearSpecs(config).filter((candidate) => candidate.layer === layerIndex)) {
  const weight = { data: source.readTensor(`${spec.prefix}.weight`), rows: spec.outFeatures, cols: spec.inFeatures };
  const prepared = prepareHessian(finalizeHessian(accumulators[spec.input]));
  for (const [name, layout] of Object.entries(layouts)) {
    const options = { ...layout, storageDtype: 'F16', refineIterations: rounds, kmeansIterations: 30 };
    if (options.numCentroids > (weight.rows / options.vectorLength) * weight.cols / 2) continue;
    let captured;
    const capture = {
      async openLayer(layer) {
        const session = await cpuVptqRefitEngine.openLayer(layer);
        return {
          refit(request) {
            captured ??= { layer, request };
            return session.refit(request);
          },
          close() {},
        };
      },
    };
    const cpu = await quantizeVptqLayerAsync(weight, prepared, { ...options, refitEngine: capture });
    const { layer, request } = captured;
    const f32Layer = { ...layer, storageDtype: 'F32' };
    const start = objective(layer, request.assignments, request.assignments.map((a) => a.codebook), request.assignments.map((a) => a.residualCodebook));
    const cpuRefit = (await cpuVptqRefitEngine.openLayer(f32Layer)).refit(request);
    const best = objective(layer, request.assignments, cpuRefit.codebooks, cpuRefit.residualCodebooks);
    const missed = {};
    for (const [label, engineOptions] of [['auto', {}], ...[5, 10, 25, 50, 100].map((n) => [`cg${n}`, { solver: 'cg', cgIterations: n }])]) {
      const session = await createGpuRefitEngine(device, engineOptions).openLayer(f32Layer);
      const started = performance.now();
      const result = await session.refit(request);
      const ms = performance.now() - started;
      const { solvers, preconditioners, iterations } = session.lastRefit;
      session.close();
      const how = label === 'auto' ? `, ${solvers.map((solver, i) => `${solver}/${preconditioners[i]} ${iterations[i]} it`).join(' + ')}` : '';
      missed[label] = `${fixed((objective(layer, request.assignments, result.codebooks, result.residualCodebooks) - best) / (start - best))} (${ms.toFixed(0)} ms${how})`;
    }
    const gpu = await quantizeVptqLayerAsync(weight, prepared, { ...options, refitEngine: createGpuRefitEngine(device) });
    const sync = quantizeVptqLayer(weight, prepared, options);
    if (sync.proxyError.after !== cpu.proxyError.after) throw new Error('the async quantizer with the CPU refit must equal quantizeVptqLayer');
    console.log(
      `${spec.name} [${weight.rows}×${weight.cols}] ${name}: refit decrease ${fixed(start - best)} of ${fixed(start)}; missed by the GPU: ${Object.entries(missed)
        .map(([label, value]) => `${label} ${value}`)
        .join(', ')}; first round ${fixed((gpu.proxyError.refinements[0] - cpu.proxyError.refinements[0]) / cpu.proxyError.refinements[0])}; proxy after ${rounds} rounds: CPU ${cpu.proxyError.after.toPrecision(6)} (${cpu.proxyError.refinements.length} rounds), GPU ${gpu.proxyError.after.toPrecision(6)} (${gpu.proxyError.refinements.length}), relative ${fixed((gpu.proxyError.after - cpu.proxyError.after) / cpu.proxyError.after)}; unrefined ${cpu.proxyError.unrefined.toPrecision(6)}`,
    );
  }
}
device.destroy();
delete globalThis.dawnGpu;
