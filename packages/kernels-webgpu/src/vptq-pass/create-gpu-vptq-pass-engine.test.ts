import { CodebookError, quantizeVptqLayer, quantizeVptqLayerAsync } from '@vptq/codebook';
import { cpuVptqPassEngine } from '@vptq/codebook/engine';
import type { VptqPassEngine, VptqPassLayer, VptqPassRequest } from '@vptq/codebook/engine';
import type { VptqOptions } from '@vptq/codebook';
import { prepareHessian, proxyError } from '@vptq/hessian';
import { dequantizeVptqLayer, packVptqLayer } from '@vptq/pack-format';
import { countDifferences, createTestRng, maxAbsDifference, randomFloats, randomMatrix, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { compileShader } from '../compile-shader';
import { vptqColumnWgsl } from '../vptq-column/vptq-column.wgsl';
import { vptqSweepSubgroupsWgsl, vptqSweepWgsl } from '../vptq-sweep/vptq-sweep.wgsl';
import { prepareHessianGpu } from '../prepare-hessian-gpu/prepare-hessian-gpu';
import { createGpuRefitEngine } from '../vptq-refit/create-gpu-refit-engine';
import { createGpuVptqPassEngine } from './create-gpu-vptq-pass-engine';
import type { GpuVptqPassOptions } from './create-gpu-vptq-pass-engine';
import { replayChoices } from './test/replay-choices';

const device = await requestTestDevice();

/** A random SPD Hessian XᵀX/n + 1e-3·I of correlated features with different scales (so perm is not trivial). */
function randomHessian(size: number, seed: number): Float64Array {
  const next = createTestRng(seed);
  const samples = 4 * size;
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const mixing = Float64Array.from({ length: size * size }, (_, i) => (i % (size + 1) === 0 ? 1 : 0) + 0.5 * gaussian());
  const featureScale = Float64Array.from({ length: size }, () => 0.2 + 2 * next());
  const inputs = new Float64Array(samples * size);
  for (let s = 0; s < samples; s++) {
    const z = Float64Array.from({ length: size }, gaussian);
    for (let j = 0; j < size; j++) {
      let sum = 0;
      for (let i = 0; i < size; i++) sum += z[i] * mixing[i * size + j];
      inputs[s * size + j] = sum * featureScale[j];
    }
  }
  const hessian = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      let sum = 0;
      for (let s = 0; s < samples; s++) sum += inputs[s * size + i] * inputs[s * size + j];
      hessian[i * size + j] = sum / samples + (i === j ? 1e-3 : 0);
    }
  }
  return hessian;
}

const rows = 30; // not a multiple of v = 4 or vo = 3: the last vector of every column is padded
const cols = 48;
const weight = randomMatrix({ rows, cols, seed: 1, scale: 0.1 });
const prepared = prepareHessian({ data: randomHessian(cols, 2), size: cols });
const full: VptqOptions = {
  kmeansIterations: 10,
  vectorLength: 4,
  numCentroids: 32,
  numResidualCentroids: 8,
  outlierPercent: 5,
  outlierVectorLength: 3,
  numOutlierCentroids: 16,
  groupNum: 2,
  blockSize: 16,
  refineIterations: 2,
};

/** Runs the CPU quantizer and keeps the layer and every pass request it made (real k-means and refit codebooks). */
async function capture(options: VptqOptions, hessian = prepared): Promise<{ layer: VptqPassLayer; requests: VptqPassRequest[] }> {
  const requests: VptqPassRequest[] = [];
  let layer: VptqPassLayer | undefined;
  const engine: VptqPassEngine = {
    async openLayer(opened) {
      layer = opened;
      const session = await cpuVptqPassEngine.openLayer(opened);
      return { ...session, runPass: (request) => (requests.push(request), session.runPass(request)) };
    },
  };
  await quantizeVptqLayerAsync(weight, hessian, { ...options, engine });
  return { layer: layer as VptqPassLayer, requests };
}

/**
 * Tolerances, from the arithmetic. The GPU keeps the working weight in f32 like the CPU, but sums the lazy update
 * in f32 (the CPU in f64) and uses U·D⁻¹ rounded to f32: the working values drift by a few f32 ulps of the
 * normalized weight (measured ≤ 4e-7 here, values in [0, 1]). A choice is then a near-tie when its distance is
 * within 2·|drift|·|c_a − c_b| + the f32 rounding of the two distances (≲ 1e-6 for entries ≤ 1 apart) of the
 * nearest one: 1e-5 leaves a factor 10. The residual w − q inherits the drift: 1e-5 absolute. The proxy error is
 * a quadratic form summed in f32 over `cols` terms, then per tile in f64: γ_48 ≈ 3e-6 relative, plus the drift's
 * share; 1e-5 relative when every index agrees, else the brief's 1e-3 (a flipped near-tie moves a vector by one
 * codebook step). Disagreements: at most 2 per pass (none were measured in these problems; a broken search gives
 * hundreds).
 */
const nearTieGap = 1e-5;
const residualTolerance = 1e-5;

/** Relative difference of two proxy errors. */
const relative = (actual: number, expected: number) => Math.abs(actual - expected) / Math.abs(expected);

describe.skipIf(!device)('createGpuVptqPassEngine', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('compiles both entry points for every variant the engine uses', async () => {
    await expect(compileShader(gpu, 'vptq-column', vptqColumnWgsl)).resolves.toBeDefined();
    await expect(compileShader(gpu, 'vptq-sweep', vptqSweepWgsl)).resolves.toBeDefined();
    if (gpu.features.has('subgroups')) await expect(compileShader(gpu, 'vptq-sweep', vptqSweepSubgroupsWgsl)).resolves.toBeDefined();
  });

  it('is an engine of @vptq/codebook', () => {
    const engine: VptqPassEngine = createGpuVptqPassEngine(gpu);
    expect(typeof engine.openLayer).toBe('function');
  });

  const variants: [string, VptqOptions, GpuVptqPassOptions][] = [
    ['outliers (vo = 3), 2 groups, residual, norm, perm, scale-aware, ragged last vector (sweep)', full, {}],
    ['the same per column, with K split into 3 search slices and 4 points per workgroup', full, { columnLoop: 'per-column', searchSlices: 3, pointsPerWorkgroup: 4 }],
    ['the same swept by 3 vector-rows per workgroup, merged without subgroups', full, { sweepPoints: 3, useSubgroups: false }],
    ['scale-aware objective off', { ...full, scaleAwareObjective: false }, {}],
    [
      'dense 2-D codebook (v = 2, K = 256, Kr = 64), K split automatically, per column',
      { kmeansIterations: 10, vectorLength: 2, numCentroids: 256, numResidualCentroids: 64, blockSize: 16, refineIterations: 1 },
      { columnLoop: 'per-column', targetWorkgroups: 64 },
    ],
    [
      'the same dense codebook swept by 4 vector-rows per workgroup',
      { kmeansIterations: 10, vectorLength: 2, numCentroids: 256, numResidualCentroids: 64, blockSize: 16, refineIterations: 1 },
      { sweepPoints: 4 },
    ],
    ['norm off, v = 3, no residual, no outliers, 7-column blocks', { kmeansIterations: 10, vectorLength: 3, numCentroids: 16, enableNorm: false, blockSize: 7, refineIterations: 2 }, {}],
    [
      'v = 12 (per-column kernels) after outliers of v = 3 (swept)',
      { kmeansIterations: 10, vectorLength: 12, numCentroids: 16, outlierPercent: 10, outlierVectorLength: 3, numOutlierCentroids: 8, blockSize: 16, refineIterations: 1 },
      {},
    ],
  ];
  for (const [name, options, gpuOptions] of variants) {
    it(`matches the CPU pass: ${name}`, async () => {
      const { layer, requests } = await capture(options);
      expect(requests.length).toBeGreaterThanOrEqual(2);
      const cpu = await cpuVptqPassEngine.openLayer(layer);
      const session = await createGpuVptqPassEngine(gpu, gpuOptions).openLayer(layer);
      try {
        for (const request of requests) {
          const expected = await cpu.runPass(request);
          const actual = await session.runPass(request);
          let disagreements = 0;
          let vectors = 0;
          expected.indices.forEach((indices, part) => {
            expect(actual.indices[part]).toBeInstanceOf(indices.constructor);
            disagreements += countDifferences(actual.indices[part], indices);
            vectors += indices.length;
          });
          expected.residualIndices.forEach((indices, part) => {
            if (indices === undefined) return expect(actual.residualIndices[part]).toBeUndefined();
            disagreements += countDifferences(actual.residualIndices[part] as Uint16Array, indices);
          });
          expect(disagreements).toBeLessThanOrEqual(2);
          // Every choice the GPU made is the nearest entry up to f32 rounding, given its own earlier choices.
          const gaps = replayChoices(layer, request, actual.indices, actual.residualIndices);
          expect(gaps.choices).toBe(vectors * (request.residualCodebooks === undefined ? 1 : 2) - (request.residualCodebooks === undefined ? 0 : outlierVectors(layer)));
          expect(gaps.largestGap).toBeLessThanOrEqual(nearTieGap);
          // Where the indices agree the quantized values are the same codebook sums, bit for bit.
          const width = Math.max(...layer.parts.map((part) => part.vectorLength));
          expect(countDifferences(actual.quantized, expected.quantized)).toBeLessThanOrEqual(disagreements * width);
          expect(actual.residual === undefined).toBe(expected.residual === undefined);
          if (expected.residual !== undefined && disagreements === 0) {
            expect(maxAbsDifference(actual.residual as Float32Array, expected.residual)).toBeLessThanOrEqual(residualTolerance);
          }
          expect(relative(actual.proxyError, expected.proxyError)).toBeLessThanOrEqual(disagreements === 0 ? 1e-5 : 1e-3);
          expect(actual.nonFinite).toBeUndefined();
          // The weight rebuilt on the host from the indices is the one the GPU wrote: the same proxy error, exactly.
          expect(await session.measure(actual.quantized)).toBe(actual.proxyError);
        }
      } finally {
        session.close();
        cpu.close();
      }
    });
  }

  it('breaks exact ties to the lower index within a lane, across lanes and across K slices, as the CPU search does', async () => {
    const { layer, requests } = await capture({ ...full, refineIterations: 0 });
    // Twins: entry k + stride repeats entry k, so every nearest entry comes as a pair and the lower one must win.
    // stride 1 puts twins in neighbouring lanes; stride K/2 (16 for K = 32, with 16 lanes) in the same lane of one tile.
    const twin = (codebook: Float32Array | undefined, length: number, half: boolean) => {
      if (codebook === undefined) return undefined;
      const copy = codebook.slice();
      const entries = copy.length / length;
      const stride = half ? entries / 2 : 1;
      for (let entry = 0; entry < entries; entry++) {
        const upper = half ? entry >= stride : entry % 2 === 1;
        if (upper) copy.copyWithin(entry * length, (entry - stride) * length, (entry - stride + 1) * length);
      }
      return copy;
    };
    for (const half of [false, true]) {
      const request: VptqPassRequest = {
        codebooks: requests[1].codebooks.map((codebook, part) => twin(codebook, layer.parts[part].vectorLength, half) as Float32Array),
        residualCodebooks: requests[1].residualCodebooks?.map((codebook, part) => twin(codebook, layer.parts[part].vectorLength, half)),
        keepResidual: false,
      };
      const expected = await (await cpuVptqPassEngine.openLayer(layer)).runPass(request);
      const perColumn = { columnLoop: 'per-column', searchSlices: 5, pointsPerWorkgroup: 2 } as const;
      for (const options of [{}, { sweepPoints: 5, useSubgroups: false }, perColumn]) {
        const session = await createGpuVptqPassEngine(gpu, options).openLayer(layer);
        const actual = await session.runPass(request);
        session.close();
        actual.indices.forEach((indices, part) => {
          const entries = layer.parts[part].numCentroids;
          expect(indices.every((index) => (half ? index < entries / 2 : index % 2 === 0))).toBe(true);
        });
        expect(actual.indices).toEqual(expected.indices);
        expect(actual.residualIndices).toEqual(expected.residualIndices);
      }
    }
  });

  it('measures the proxy error of any weight like the CPU engine', async () => {
    const { layer } = await capture({ ...full, refineIterations: 0 });
    const cpu = await cpuVptqPassEngine.openLayer(layer);
    const session = await createGpuVptqPassEngine(gpu).openLayer(layer);
    // The starting weight itself (error from the dead-free norm round trip only) and a noisy one.
    const noisy = layer.start.map((value, index) => value + 0.05 * randomFloats(layer.start.length, 9)[index]);
    for (const quantized of [noisy, noisy.map((value) => value * 0.9)]) {
      expect(relative(await session.measure(quantized), await cpu.measure(quantized))).toBeLessThanOrEqual(1e-5);
    }
    session.close();
  });

  // Two layouts × four engines × two passes on lavapipe: 1.5 s alone on a 2-core VM, but over 30 s in one CI run
  // (2026-12-08) where other packages' suites shared the cores and this file's other tests ran 10–100× slower too.
  it('sweeps a block in one dispatch to the same bytes as one or two dispatches per column', { timeout: 180_000 }, async () => {
    for (const options of [full, { ...full, outlierPercent: 0, groupNum: 1, vectorLength: 8, numCentroids: 64 }]) {
      const { layer, requests } = await capture(options);
      const perColumn = await createGpuVptqPassEngine(gpu, { columnLoop: 'per-column', searchSlices: 2 }).openLayer(layer);
      const sweeps = await Promise.all([{}, { sweepPoints: 7 }, { sweepPoints: 2, useSubgroups: false }].map((tuning) => createGpuVptqPassEngine(gpu, tuning).openLayer(layer)));
      try {
        // The first loop (keeping the residual) and the second (with the residual codebooks).
        for (const request of [{ ...requests[0], keepResidual: true }, requests[1]]) {
          const expected = await perColumn.runPass(request);
          for (const session of sweeps) {
            const actual = await session.runPass(request);
            expect(new Uint8Array(actual.quantized.buffer)).toEqual(new Uint8Array(expected.quantized.buffer));
            expect(actual.residual === undefined ? undefined : new Uint8Array(actual.residual.buffer)).toEqual(
              expected.residual === undefined ? undefined : new Uint8Array(expected.residual.buffer),
            );
            expect(actual.indices).toEqual(expected.indices);
            expect(actual.residualIndices).toEqual(expected.residualIndices);
            expect(actual.proxyError).toBe(expected.proxyError);
          }
        }
      } finally {
        perColumn.close();
        for (const session of sweeps) session.close();
      }
    }
  });

  it('gives the same bytes twice, in one session and in a new one', async () => {
    const { layer, requests } = await capture({ ...full, refineIterations: 0 });
    const request = { ...requests[0], keepResidual: true };
    const engine = createGpuVptqPassEngine(gpu, { searchSlices: 2 });
    const first = await engine.openLayer(layer);
    const a = await first.runPass(request);
    const b = await first.runPass(request);
    first.close();
    const second = await engine.openLayer(layer);
    const c = await second.runPass(request);
    second.close();
    for (const other of [b, c]) {
      expect(new Uint8Array(other.quantized.buffer)).toEqual(new Uint8Array(a.quantized.buffer));
      expect(new Uint8Array((other.residual as Float32Array).buffer)).toEqual(new Uint8Array((a.residual as Float32Array).buffer));
      expect(other.indices).toEqual(a.indices);
      expect(other.proxyError).toBe(a.proxyError);
    }
  });

  it('reports progress from 0 to 1 in order, per chunk of blocks', async () => {
    const { layer, requests } = await capture({ ...full, refineIterations: 0 });
    const session = await createGpuVptqPassEngine(gpu).openLayer(layer);
    const fractions: number[] = [];
    await session.runPass({ ...requests[0], onFraction: (fraction) => fractions.push(fraction) });
    session.close();
    expect(fractions[0]).toBe(0);
    expect(fractions.at(-1)).toBe(1);
    expect(fractions).toEqual([...fractions].sort((x, y) => x - y));
    expect(fractions.length).toBeGreaterThan(3); // 48 columns in blocks of 16: three chunks, then 1
  });

  it('quantizes a layer end to end in quantizeVptqLayerAsync: it packs, dequantizes to its weight, and matches the CPU error', async () => {
    for (const options of [full, { ...full, outlierPercent: 0, numResidualCentroids: 0 }]) {
      const engine = createGpuVptqPassEngine(gpu);
      const onGpu = await quantizeVptqLayerAsync(weight, prepared, { ...options, engine });
      const onCpu = quantizeVptqLayer(weight, prepared, options);
      expect(onGpu.config).toEqual(onCpu.config);
      const packed = packVptqLayer(onGpu, 'F32');
      const rebuilt = dequantizeVptqLayer(packed);
      // The proxy error reported is that of the weight the packed layer rebuilds (measured here on the CPU, in f64).
      expect(relative(onGpu.proxyError.after, cpuProxyError(rebuilt))).toBeLessThanOrEqual(1e-5);
      for (const key of ['before', 'firstPass', 'unrefined', 'after'] as const) {
        expect(relative(onGpu.proxyError[key], onCpu.proxyError[key])).toBeLessThanOrEqual(1e-3);
      }
      expect(onGpu.proxyError.refinements.length).toBe(onCpu.proxyError.refinements.length);
    }
  });

  it('quantizes from matrices prepared on the device (prepareHessianGpu) as from host ones, and the CPU engine refuses them', async () => {
    const raw = { data: randomHessian(cols, 2), size: cols };
    const onDevice = await prepareHessianGpu(gpu, raw);
    try {
      for (const options of [full, { ...full, outlierPercent: 0, numResidualCentroids: 0, enableNorm: true }]) {
        // The refit reads the device H too (scaled by the norm on the device where norm is on).
        const engines = { engine: createGpuVptqPassEngine(gpu), refitEngine: createGpuRefitEngine(gpu) };
        const fromDevice = await quantizeVptqLayerAsync(weight, onDevice, { ...options, ...engines });
        const fromHost = await quantizeVptqLayerAsync(weight, prepared, { ...options, ...engines });
        expect(fromDevice.config).toEqual(fromHost.config);
        expect(Array.from(fromDevice.perm ?? [])).toEqual(Array.from(fromHost.perm ?? []));
        // U and H differ by f32 roundings (the factor by about κ·2⁻²⁴): the same quantization up to near-ties.
        const rebuilt = dequantizeVptqLayer(packVptqLayer(fromDevice, 'F32'));
        expect(relative(fromDevice.proxyError.after, cpuProxyError(rebuilt))).toBeLessThanOrEqual(1e-5);
        for (const key of ['before', 'firstPass', 'unrefined', 'after'] as const) {
          expect(relative(fromDevice.proxyError[key], fromHost.proxyError[key])).toBeLessThanOrEqual(1e-3);
        }
      }
      // The matrices are the caller's: the sessions left them alone.
      expect(onDevice.hessian.isDestroyed || onDevice.inverseCholesky.isDestroyed).toBe(false);
      await expect(quantizeVptqLayerAsync(weight, onDevice, full)).rejects.toThrow(/layer.inverseCholesky lives on a device \(prepareHessianGpu\): the CPU engines need it as a host Float64Array/);
    } finally {
      onDevice.hessian.destroy();
      onDevice.inverseCholesky.destroy();
    }
  });

  it('reports the first column whose error feedback overflowed, and the quantizer fails with VPTQ_CODEBOOK_NON_FINITE', async () => {
    const exploding = prepared.inverseCholesky.slice();
    exploding[0] = 1e-300;
    const broken = { ...prepared, inverseCholesky: exploding };
    const { layer } = await capture({ ...full, refineIterations: 0 });
    const brokenLayer = { ...layer, inverseCholesky: exploding };
    const codebooks = layer.parts.map((part) => randomFloats(part.numCentroids * part.vectorLength, 3));
    const expected = await (await cpuVptqPassEngine.openLayer(brokenLayer)).runPass({ codebooks, keepResidual: false });
    const session = await createGpuVptqPassEngine(gpu).openLayer(brokenLayer);
    const actual = await session.runPass({ codebooks, keepResidual: false });
    session.close();
    expect(expected.nonFinite?.column).toBeDefined();
    expect(actual.nonFinite?.column).toBe(expected.nonFinite?.column);
    const failure = quantizeVptqLayerAsync(weight, broken, { ...full, engine: createGpuVptqPassEngine(gpu) });
    await expect(failure).rejects.toBeInstanceOf(CodebookError);
    await expect(failure).rejects.toMatchObject({ code: 'VPTQ_CODEBOOK_NON_FINITE' });
  });

  it('rejects bad options, layers and codebooks with the parameter and what was expected', async () => {
    expect(() => createGpuVptqPassEngine(gpu, { pointsPerWorkgroup: 3 })).toThrow(/pointsPerWorkgroup must be a power of two between 1 and 64 \(got 3\)/);
    expect(() => createGpuVptqPassEngine(gpu, { searchSlices: 0 })).toThrow(/searchSlices must be an integer ≥ 1 \(got 0\)/);
    expect(() => createGpuVptqPassEngine(gpu, { targetWorkgroups: 1.5 })).toThrow(/targetWorkgroups must be an integer ≥ 1/);
    const { layer, requests } = await capture({ ...full, refineIterations: 0 });
    const engine = createGpuVptqPassEngine(gpu);
    await expect(engine.openLayer({ ...layer, start: new Float32Array(5) })).rejects.toThrow(/layer.start must have 1440 elements \(\[cols, rows\]\) \(got 5\)/);
    await expect(engine.openLayer({ ...layer, inverseCholesky: new Float32Array(48 * 48) as never })).rejects.toThrow(/layer.inverseCholesky must be a Float64Array/);
    await expect(engine.openLayer({ ...layer, perm: layer.perm.map(() => 48) })).rejects.toThrow(/layer.perm must hold column indices below 48 \(got 48\)/);
    const wide = layer.parts.map((part) => ({ ...part, vectorLength: 17, vectorRows: Math.ceil(rows / 17) }));
    await expect(engine.openLayer({ ...layer, parts: wide })).rejects.toThrow(/layer.parts\[0\].vectorLength must be an integer between 1 and 16 on the GPU \(got 17\)/);
    await expect(engine.openLayer({ ...layer, parts: layer.parts.slice(1) })).rejects.toThrow(/layer.parts\[0\] must start at column 0/);
    const session = await engine.openLayer(layer);
    const [request] = requests;
    await expect(session.runPass({ ...request, codebooks: request.codebooks.slice(1) })).rejects.toThrow(/one codebook per part \(got 2, parts = 3\)/);
    await expect(session.runPass({ ...request, codebooks: [request.codebooks[0], new Float32Array(3), request.codebooks[2]] })).rejects.toThrow(
      /codebooks\[1\] must have 128 elements \(\[32, 4\]\) \(got 3\)/,
    );
    const residualCodebooks = requests[1].residualCodebooks as (Float32Array | undefined)[];
    await expect(session.runPass({ ...request, residualCodebooks: [undefined, residualCodebooks[1], undefined] })).rejects.toThrow(
      /residualCodebooks\[2\] is required: the GPU engine searches every part with residual entries or none/,
    );
    await expect(session.measure(new Float32Array(4))).rejects.toThrow(/quantized must have 1440 elements/);
    const running = session.runPass(request);
    await expect(session.runPass(request)).rejects.toThrow(/one pass or measure at a time/);
    await running;
    session.close();
    await expect(session.runPass(request)).rejects.toThrow(/the session is closed/);
  });
});

/** Vectors of the outlier part (searched without a residual codebook even in a residual pass). */
function outlierVectors(layer: VptqPassLayer): number {
  return layer.parts.filter((part) => part.numResidualCentroids === 0).reduce((sum, part) => sum + part.vectorRows * part.size, 0);
}

/** `proxyError` of @vptq/hessian for an `[out, in]` weight against `weight`, in the prepared (quantization) order. */
function cpuProxyError(quantized: Float32Array): number {
  const permute = (data: Float32Array) => Float32Array.from({ length: rows * cols }, (_, i) => data[Math.floor(i / cols) * cols + prepared.perm[i % cols]]);
  return proxyError({ data: permute(weight.data), rows, cols }, { data: permute(quantized), rows, cols }, { data: prepared.hessian, size: cols });
}
