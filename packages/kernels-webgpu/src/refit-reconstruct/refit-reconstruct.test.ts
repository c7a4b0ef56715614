import { createTestRng, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createBufferWithData, readBuffer } from '../buffers';
import { compileShader } from '../compile-shader';
import { submitDispatches } from '../dispatch';
import { createRefitReconstructDispatch } from './refit-reconstruct';
import { refitReconstructWgsl } from './refit-reconstruct.wgsl';

const device = await requestTestDevice();

describe.skipIf(!device)('createRefitReconstructDispatch', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('compiles', async () => {
    await expect(compileShader(gpu, 'refit-reconstruct', refitReconstructWgsl)).resolves.toBeDefined();
  });

  it('writes x[main] + x[residual] (one f32 addition) for every real row, at its offset and stride, and nothing else', async () => {
    const next = createTestRng(3);
    // rows = 11 at v = 3: 4 vector rows, the last with 2 real rows; 7 columns written at column 2 of a stride-13 q.
    const rows = 11;
    const width = 7;
    const v = 3;
    const vectorRows = 4;
    const unknowns = 20;
    const x = Float32Array.from({ length: unknowns * v }, () => next() * 2 - 1);
    const slots = new Uint32Array(vectorRows * width * 2);
    for (let i = 0; i < vectorRows * width; i++) {
      slots[2 * i] = Math.floor(next() * 16);
      slots[2 * i + 1] = i % 3 === 0 ? 0xffffffff : 16 + Math.floor(next() * 4);
    }
    const ldq = 13;
    const qOffset = 2 * ldq + 1;
    const before = Float32Array.from({ length: qOffset + width * ldq + 5 }, () => 7);
    const q = createBufferWithData(gpu, 'test/q', before);
    const xBuffer = createBufferWithData(gpu, 'test/x', x);
    const slotBuffer = createBufferWithData(gpu, 'test/slots', slots);
    const dispatch = await createRefitReconstructDispatch(gpu, { x: xBuffer, slots: slotBuffer, q }, { rows, width, vectorLength: v, ldq, qOffset });
    submitDispatches(gpu, 'test', [dispatch]);
    const result = new Float32Array(await readBuffer(gpu, q, before.length * 4));
    const expected = before.slice();
    for (let a = 0; a < width; a++) {
      for (let o = 0; o < rows; o++) {
        const pair = (Math.floor(o / v) * width + a) * 2;
        const j = o % v;
        const main = x[slots[pair] * v + j];
        expected[qOffset + a * ldq + o] = slots[pair + 1] === 0xffffffff ? main : Math.fround(main + x[slots[pair + 1] * v + j]);
      }
    }
    expect(result).toEqual(expected);
    dispatch.destroy();
    for (const buffer of [q, xBuffer, slotBuffer]) buffer.destroy();
  });

  it('rejects v above 16 and a stride below the rows', async () => {
    const buffer = createBufferWithData(gpu, 'test/any', new Float32Array(4));
    const buffers = { x: buffer, slots: buffer, q: buffer };
    await expect(createRefitReconstructDispatch(gpu, buffers, { rows: 4, width: 1, vectorLength: 17, ldq: 4, qOffset: 0 })).rejects.toThrow(
      /shape.vectorLength must be an integer between 1 and 16 \(got 17\)/,
    );
    await expect(createRefitReconstructDispatch(gpu, buffers, { rows: 4, width: 1, vectorLength: 2, ldq: 3, qOffset: 0 })).rejects.toThrow(/shape.ldq must be an integer ≥ 4 \(got 3\)/);
    buffer.destroy();
  });
});
