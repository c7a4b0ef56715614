import { releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createBufferWithData, createStorageBuffer, readBuffer } from '../buffers';
import { compileShader } from '../compile-shader';
import { submitDispatches } from '../dispatch';
import { buildRefitTables, refitDiagonals } from '../vptq-refit/build-refit-tables';
import { planGpuRefit, readGpuRefitTuning } from '../vptq-refit/plan-gpu-refit';
import { refitProblem } from '../vptq-refit/test/refit-problem';
import { createRefitDiagonalDispatch } from './refit-diagonal';
import { refitDiagonalWgsl } from './refit-diagonal.wgsl';

const device = await requestTestDevice();
const unit = 2 ** -24;

describe.skipIf(!device)('createRefitDiagonalDispatch', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('compiles', async () => {
    await expect(compileShader(gpu, 'refit-diagonal', refitDiagonalWgsl)).resolves.toBeDefined();
  });

  it('sums the full and the cut diagonal like its CPU twin, over long runs split across segments, the same bits twice', async () => {
    // Kr = 2 residual entries over 40 columns: runs of about 10 per vector row, lists of about 100 (4 segments).
    const problem = refitProblem({ rows: 10, cols: 80, vectorLength: 4, numCentroids: 32, numResidualCentroids: 2, groups: 2 }, 13, { unused: [3] });
    const [block] = planGpuRefit('test', problem.layer, gpu.limits, readGpuRefitTuning('test', { solver: 'cg' })).blocks;
    const tables = buildRefitTables('test', block, problem.layer.parts, problem.assignments);
    const segmentCount = tables.segments.length - 1;
    // Two empty segments at the end, as the engine pads them.
    const segments = new Uint32Array(segmentCount + 3).fill(tables.entries.length);
    segments.set(tables.segments);
    const buffers = {
      hessian: createBufferWithData(gpu, 'test/hessian', Float32Array.from(problem.layer.hessian)),
      entries: createBufferWithData(gpu, 'test/entries', tables.entries),
      listOffsets: createBufferWithData(gpu, 'test/list-offsets', tables.listOffsets),
      segments: createBufferWithData(gpu, 'test/segments', segments),
      slotSegments: createBufferWithData(gpu, 'test/slot-segments', tables.slotSegments),
      partials: createStorageBuffer(gpu, 'test/partials', (segmentCount + 2) * 8),
      diagonal: createStorageBuffer(gpu, 'test/diagonal', 2 * block.unknowns * 4),
    };
    const shape = { unknowns: block.unknowns, segmentCount: segmentCount + 2, width: block.width, cols: problem.layer.cols, start: block.start, cutRow: block.vectorRows - 1 };
    const dispatch = await createRefitDiagonalDispatch(gpu, buffers, shape);
    submitDispatches(gpu, 'test', [dispatch]);
    const diagonal = new Float32Array(await readBuffer(gpu, buffers.diagonal));
    const { full, cut } = refitDiagonals(block, problem.layer.hessian, problem.layer.cols, tables);
    let runs = 0;
    for (let k = 0; k < block.unknowns; k++) {
      const count = tables.listOffsets[k + 1] - tables.listOffsets[k];
      if (count > 32) runs++;
      // f32 H̃ and sums of up to count·(run length) terms of mixed sign: bound by the terms' magnitude.
      let magnitude = 0;
      for (let e = tables.listOffsets[k]; e < tables.listOffsets[k + 1]; e++) magnitude += Math.abs(problem.layer.hessian[(tables.entries[e] % block.width) * (problem.layer.cols + 1)]);
      const bound = (count + 2) * unit * 40 * magnitude + 1e-30;
      expect(Math.abs(diagonal[k] - full[k])).toBeLessThanOrEqual(bound);
      expect(Math.abs(diagonal[block.unknowns + k] - cut[k])).toBeLessThanOrEqual(bound);
    }
    expect(runs).toBeGreaterThan(0);
    const unused = block.partOffsets[1] + 3;
    expect([diagonal[unused], diagonal[block.unknowns + unused]]).toEqual([0, 0]);
    submitDispatches(gpu, 'test', [dispatch]);
    expect(new Float32Array(await readBuffer(gpu, buffers.diagonal))).toEqual(diagonal);
    dispatch.destroy();
    for (const buffer of Object.values(buffers)) buffer.destroy();
  });
});
