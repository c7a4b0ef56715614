import { releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createBufferWithData, createStorageBuffer, readBuffer } from '../buffers';
import { compileShader } from '../compile-shader';
import { submitDispatches } from '../dispatch';
import { exponentAbove } from '../kmeans-reduce/fixed-point';
import { buildRefitTables } from '../vptq-refit/build-refit-tables';
import type { RefitTables } from '../vptq-refit/build-refit-tables';
import { planGpuRefit, readGpuRefitTuning } from '../vptq-refit/plan-gpu-refit';
import type { GpuRefitBlockPlan } from '../vptq-refit/plan-gpu-refit';
import { refitProblem } from '../vptq-refit/test/refit-problem';
import type { RefitProblem } from '../vptq-refit/test/refit-problem';
import { createRefitNormalDispatch } from './refit-normal';
import { refitNormalWgsl } from './refit-normal.wgsl';

const device = await requestTestDevice();

/** rows = 10 at v = 4: R = 3 vector rows, the last with 2 real rows, so there is a cut matrix. */
const problem = refitProblem({ rows: 10, cols: 24, vectorLength: 4, numCentroids: 16, numResidualCentroids: 4, groups: 2 }, 1);

function plan(p: RefitProblem): { block: GpuRefitBlockPlan; tables: RefitTables } {
  const { blocks } = planGpuRefit('test', p.layer, device?.limits as GPUSupportedLimits, readGpuRefitTuning('test', { solver: 'dense' }));
  const block = blocks[0];
  return { block, tables: buildRefitTables('test', block, p.layer.parts, p.assignments) };
}

/**
 * The exact result: every f32 term H̃[a, b]·scale rounded half to even to an integer, summed as BigInt, then decoded
 * the way the kernel decodes (f32 of the high word times 2^32 plus f32 of the low word, rounded once, scaled back).
 */
function exactMatrices(p: RefitProblem, block: GpuRefitBlockPlan, tables: RefitTables, scale: number): { full: Float32Array; cut: Float32Array } {
  const { cols } = p.layer;
  const hessian = Float32Array.from(p.layer.hessian);
  const n = block.unknowns;
  const toInteger = (value: number) => {
    const floor = Math.floor(value);
    const fraction = value - floor;
    return BigInt(fraction > 0.5 || (fraction === 0.5 && floor % 2 !== 0) ? floor + 1 : floor);
  };
  const decode = (sum: bigint) => {
    const wrapped = BigInt.asUintN(64, sum);
    const high = Number(BigInt.asIntN(32, wrapped >> 32n));
    const low = Number(wrapped & 0xffffffffn);
    return Math.fround(Math.fround(Math.fround(high) * 2 ** 32 + Math.fround(low)) / scale);
  };
  const build = (vectorRows: number) => {
    const sums = Array.from({ length: n * n }, () => 0n);
    for (let r = 0; r < vectorRows; r++) {
      for (let a = 0; a < block.width; a++) {
        for (let b = 0; b < block.width; b++) {
          const term = toInteger(Math.fround(hessian[(block.start + a) * cols + block.start + b] * scale));
          for (const k1 of [tables.slots[(r * block.width + a) * 2], tables.slots[(r * block.width + a) * 2 + 1]]) {
            if (k1 === 0xffffffff) continue;
            for (const k2 of [tables.slots[(r * block.width + b) * 2], tables.slots[(r * block.width + b) * 2 + 1]]) {
              if (k2 !== 0xffffffff) sums[k1 * n + k2] += term;
            }
          }
        }
      }
    }
    return Float32Array.from(sums, decode);
  };
  return { full: build(block.vectorRows), cut: build(block.vectorRows - 1) };
}

/** Gauge weights that are powers of two (so w_i·w_j is exact): slots 0–9 on direction 0, 20–29 on direction 1. */
function testGauge(n: number): Float32Array {
  const gauge = new Float32Array(3 * n);
  gauge.fill(-1, 2 * n);
  for (let k = 0; k < n; k++) {
    if (k < 10 || (k >= 20 && k < 30)) {
      gauge[k] = k % 2 === 0 ? 0.5 : -0.5;
      gauge[n + k] = k % 3 === 0 ? 0 : k % 2 === 0 ? 0.25 : -0.25;
      gauge[2 * n + k] = k < 10 ? 0 : 1;
    }
  }
  return gauge;
}

async function runNormal(
  gpu: GPUDevice,
  p: RefitProblem,
  block: GpuRefitBlockPlan,
  tables: RefitTables,
  scale: number,
  chunkColumns?: number,
  ridges: [number, number] = [0, 0],
  gauge: Float32Array = new Float32Array(3 * block.unknowns).fill(-1, 2 * block.unknowns),
) {
  const stride = block.matrixStride;
  const buffers = {
    hessian: createBufferWithData(gpu, 'test/hessian', Float32Array.from(p.layer.hessian)),
    slotPairs: createBufferWithData(gpu, 'test/slot-pairs', tables.slotPairs as Uint32Array),
    listOffsets: createBufferWithData(gpu, 'test/list-offsets', tables.listOffsets),
    entries: createBufferWithData(gpu, 'test/entries', tables.entries),
    gauge: createBufferWithData(gpu, 'test/gauge', gauge),
    factorInputs: createStorageBuffer(gpu, 'test/factor-inputs', stride * 2 * 4),
  };
  const shape = { unknowns: block.unknowns, width: block.width, cols: p.layer.cols, start: block.start, cutRow: block.vectorRows - 1, matrixStride: stride, scale, chunkColumns };
  const dispatch = await createRefitNormalDispatch(gpu, buffers, shape);
  dispatch.setCholeskyRidges(...ridges);
  submitDispatches(gpu, 'test', [dispatch]);
  const factorInputs = new Float32Array(await readBuffer(gpu, buffers.factorInputs));
  dispatch.destroy();
  for (const buffer of Object.values(buffers)) buffer.destroy();
  const n2 = block.unknowns * block.unknowns;
  return { full: factorInputs.slice(0, n2), cut: factorInputs.slice(stride, stride + n2) };
}

/** The scale the engine picks: sums of |H̃| over the block, times R, below 2^62 units. */
function scaleFor(p: RefitProblem, block: GpuRefitBlockPlan): number {
  let sum = 0;
  for (let a = block.start; a < block.end; a++) for (let b = block.start; b < block.end; b++) sum += Math.abs(Math.fround(p.layer.hessian[a * p.layer.cols + b]));
  return 2 ** (62 - exponentAbove(sum * block.vectorRows));
}

describe.skipIf(!device)('createRefitNormalDispatch', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('compiles', async () => {
    await expect(compileShader(gpu, 'refit-normal', refitNormalWgsl)).resolves.toBeDefined();
  });

  it('builds the full and the cut normal matrices exactly (fixed-point sums of the f32 Hessian), with ridge and gauge terms, in any chunking', async () => {
    const { block, tables } = plan(problem);
    expect([block.unknowns, block.vectorRows, block.filled, block.hasResidual]).toEqual([40, 3, 2, true]);
    const scale = scaleFor(problem, block);
    const exact = exactMatrices(problem, block, tables, scale);
    const n = block.unknowns;
    const gpuMatrices = await runNormal(gpu, problem, block, tables, scale);
    expect(gpuMatrices.full).toEqual(exact.full);
    expect(gpuMatrices.cut).toEqual(exact.cut);
    const gauge = testGauge(n);
    const factorInputs = await runNormal(gpu, problem, block, tables, scale, undefined, [0.5, 0.25], gauge);
    // M + ridge·I + the gauge terms w_i·w_j within one null direction, for the factorization.
    const expected = (matrix: Float32Array, ridge: number, weights: number, i: number, j: number) => {
      const withRidge = i === j ? Math.fround(matrix[i * n + j] + ridge) : matrix[i * n + j];
      const group = gauge[2 * n + i];
      return group >= 0 && gauge[2 * n + j] === group ? Math.fround(withRidge + gauge[weights + i] * gauge[weights + j]) : withRidge;
    };
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        expect(factorInputs.full[i * n + j]).toBe(expected(exact.full, 0.5, 0, i, j));
        expect(factorInputs.cut[i * n + j]).toBe(expected(exact.cut, 0.25, n, i, j));
      }
    }
    expect(factorInputs.full[1]).toBe(Math.fround(exact.full[1] - 0.25));
    expect(factorInputs.full[20]).toBe(exact.full[20]);
    // Integer sums do not depend on the order of the atomics: other chunkings give the same bits.
    for (const chunkColumns of [7, 16]) {
      const chunked = await runNormal(gpu, problem, block, tables, scale, chunkColumns, [0.5, 0.25], gauge);
      expect(chunked.full).toEqual(factorInputs.full);
      expect(chunked.cut).toEqual(factorInputs.cut);
    }
  });

  it('has no cut matrix when the rows fill the last vector, and leaves unused slots zero', async () => {
    const full = refitProblem({ rows: 12, cols: 16, vectorLength: 4, numCentroids: 32 }, 2, { unused: [3, 17] });
    const { block, tables } = plan(full);
    expect([block.filled, block.matrixCount]).toEqual([4, 1]);
    const scale = scaleFor(full, block);
    const exact = exactMatrices(full, block, tables, scale);
    const result = await runNormal(gpu, full, block, tables, scale);
    expect(result.full).toEqual(exact.full);
    for (const unused of [3, 17]) {
      for (let j = 0; j < 32; j++) expect([result.full[unused * 32 + j], result.full[j * 32 + unused]]).toEqual([0, 0]);
    }
  });

  it('rejects a scale that is not a power of two and a chunk above the workgroup memory', async () => {
    const { block, tables } = plan(problem);
    await expect(runNormal(gpu, problem, block, tables, 3)).rejects.toThrow(/shape.scale must be a power of two between 2\^-126 and 2\^127 \(got 3\)/);
    await expect(runNormal(gpu, problem, block, tables, 1, 100000)).rejects.toThrow(/shape.chunkColumns must be an integer between 1 and 40/);
  });
});
