import { createTestRng, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createBufferWithData, createStorageBuffer, readBuffer } from '../buffers';
import { compileShader } from '../compile-shader';
import { submitDispatches } from '../dispatch';
import { buildRefitTables } from '../vptq-refit/build-refit-tables';
import { planGpuRefit, readGpuRefitTuning } from '../vptq-refit/plan-gpu-refit';
import { refitProblem } from '../vptq-refit/test/refit-problem';
import { createRefitGatherDispatch } from './refit-gather';
import { refitGatherWgsl } from './refit-gather.wgsl';

const device = await requestTestDevice();
const unit = 2 ** -24;

describe.skipIf(!device)('createRefitGatherDispatch', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('compiles', async () => {
    await expect(compileShader(gpu, 'refit-gather', refitGatherWgsl)).resolves.toBeDefined();
  });

  it('sums the product by slot, skipping padded rows, within the f32 bound of the f64 sum, the same bits twice', async () => {
    // rows = 10 at v = 4 (last vector: 2 real rows); Kr = 2 residual entries, so each residual list is long (> 32).
    const problem = refitProblem({ rows: 10, cols: 48, vectorLength: 4, numCentroids: 8, numResidualCentroids: 2, groups: 2 }, 5, { unused: [6], unusedPart: 1 });
    const { blocks } = planGpuRefit('test', problem.layer, gpu.limits, readGpuRefitTuning('test', { solver: 'cg' }));
    const block = blocks[0];
    const tables = buildRefitTables('test', block, problem.layer.parts, problem.assignments);
    const longest = Math.max(...Array.from({ length: block.unknowns }, (_, k) => tables.listOffsets[k + 1] - tables.listOffsets[k]));
    expect(longest).toBeGreaterThan(32);
    const next = createTestRng(9);
    const ldy = 12;
    const yOffset = 3;
    const y = Float32Array.from({ length: yOffset + block.width * ldy }, () => next() * 2 - 1);
    const p = Float32Array.from({ length: block.unknowns * 4 }, () => next() * 2 - 1);
    const segmentCount = tables.segments.length - 1;
    const buffers = {
      y: createBufferWithData(gpu, 'test/y', y),
      entries: createBufferWithData(gpu, 'test/entries', tables.entries),
      segments: createBufferWithData(gpu, 'test/segments', tables.segments),
      slotSegments: createBufferWithData(gpu, 'test/slot-segments', tables.slotSegments),
      p: createBufferWithData(gpu, 'test/p', p),
      partials: createStorageBuffer(gpu, 'test/partials', segmentCount * 4 * 4),
      gathered: createStorageBuffer(gpu, 'test/gathered', block.unknowns * 4 * 4),
    };
    const shape = { unknowns: block.unknowns, segmentCount, vectorLength: 4, rows: 10, width: block.width, ldy, yOffset, filled: block.filled, ridgeFull: 0.5, ridgeCut: 0.25 };
    const dispatch = await createRefitGatherDispatch(gpu, buffers, shape);
    submitDispatches(gpu, 'test', [dispatch]);
    const gathered = new Float32Array(await readBuffer(gpu, buffers.gathered, block.unknowns * 16));
    for (let k = 0; k < block.unknowns; k++) {
      for (let j = 0; j < 4; j++) {
        let sum = 0;
        let magnitude = 0;
        for (let r = 0; r < block.vectorRows; r++) {
          if (r * 4 + j >= 10) continue;
          for (let a = 0; a < block.width; a++) {
            const pair = (r * block.width + a) * 2;
            if (tables.slots[pair] === k || tables.slots[pair + 1] === k) {
              const value = y[yOffset + a * ldy + r * 4 + j];
              sum += value;
              magnitude += Math.abs(value);
            }
          }
        }
        const ridge = j < block.filled ? 0.5 : 0.25;
        const expected = sum + ridge * p[k * 4 + j];
        const count = tables.listOffsets[k + 1] - tables.listOffsets[k];
        // A sequential f32 sum of `count` terms (γ_count·Σ|y|), then the ridge term's product and sum.
        expect(Math.abs(gathered[k * 4 + j] - expected)).toBeLessThanOrEqual((count + 2) * unit * (magnitude + Math.abs(ridge * p[k * 4 + j])) + 1e-30);
      }
    }
    // The unused main entry (6 of part 1) gets the ridge term alone.
    const unused = (block.partOffsets[1] + 6) * 4;
    expect(tables.listOffsets[unused / 4 + 1] - tables.listOffsets[unused / 4]).toBe(0);
    expect(gathered[unused]).toBe(Math.fround(0.5 * p[unused]));
    dispatch.setRidges(0, 0);
    submitDispatches(gpu, 'test', [dispatch]);
    const unridged = new Float32Array(await readBuffer(gpu, buffers.gathered, block.unknowns * 16));
    expect(unridged[unused]).toBe(0);
    dispatch.setRidges(0.5, 0.25);
    submitDispatches(gpu, 'test', [dispatch]);
    expect(new Float32Array(await readBuffer(gpu, buffers.gathered, block.unknowns * 16))).toEqual(gathered);
    dispatch.destroy();
    for (const buffer of Object.values(buffers)) buffer.destroy();
  });

  it('rejects filled outside 1…v', async () => {
    const buffer = createBufferWithData(gpu, 'test/any', new Float32Array(4));
    const buffers = { y: buffer, entries: buffer, segments: buffer, slotSegments: buffer, p: buffer, partials: buffer, gathered: buffer };
    await expect(
      createRefitGatherDispatch(gpu, buffers, { unknowns: 1, segmentCount: 1, vectorLength: 4, rows: 4, width: 1, ldy: 4, filled: 5 }),
    ).rejects.toThrow(/shape.filled must be an integer between 1 and 4 \(got 5\)/);
    buffer.destroy();
  });
});
