import { createTestRng, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createBufferWithData, readBuffer } from '../buffers';
import { compileShader } from '../compile-shader';
import { submitDispatches } from '../dispatch';
import { decodeFixed } from '../kmeans-reduce/fixed-point';
import { createKmeansUpdateDispatch } from './kmeans-update';
import { kmeansUpdateWgsl } from './kmeans-update.wgsl';

const device = await requestTestDevice();
afterAll(releaseTestDevice);

/** A random two's complement 64-bit integer of magnitude below 2^bits, as (low, high) words. */
function randomInteger(next: () => number, bits: number, signed: boolean): [number, number] {
  const magnitude = BigInt(Math.floor(next() * 2 ** Math.min(bits, 52))) * 2n ** BigInt(Math.max(0, bits - 52)) + BigInt(Math.floor(next() * 2 ** Math.min(bits, 30)));
  const value = signed && next() < 0.5 ? -magnitude : magnitude;
  const word = BigInt.asUintN(64, value);
  return [Number(word & 0xffffffffn), Number(word >> 32n)];
}

describe.skipIf(!device)('createKmeansUpdateDispatch', () => {
  const gpu = device as GPUDevice;

  it('compiles', async () => {
    await expect(compileShader(gpu, 'kmeans-update', kmeansUpdateWgsl)).resolves.toBeDefined();
  });

  it('moves each cluster to Σwx / Σw rounded as the host rounds its f64 quotient, keeps and counts empty clusters', async () => {
    const next = createTestRng(41);
    const k = 3000;
    const dim = 3;
    const words = new Uint32Array(k * (dim + 1) * 2);
    const empty = new Set<number>();
    for (let c = 0; c < k; c++) {
      const base = c * (dim + 1) * 2;
      // Totals from 1 unit to 2^62 units (Σw ≤ 1 at 2^62), sums of either sign up to the same size.
      const bits = 1 + Math.floor(next() * 62);
      const isEmpty = c % 97 === 5;
      if (isEmpty) empty.add(c);
      const total = isEmpty ? [0, 0] : randomInteger(next, bits, false);
      if (!isEmpty && total[0] === 0 && total[1] === 0) total[0] = 1;
      for (let j = 0; j < dim; j++) [words[base + 2 * j], words[base + 2 * j + 1]] = randomInteger(next, Math.min(62, bits + Math.floor(next() * 3)), true);
      [words[base + 2 * dim], words[base + 2 * dim + 1]] = total;
    }
    const previous = Float32Array.from({ length: k * dim }, (_, i) => i + 0.5);
    const buffers = {
      accumulators: createBufferWithData(gpu, 'test/accumulators', words),
      centroids: createBufferWithData(gpu, 'test/centroids', previous),
      stats: createBufferWithData(gpu, 'test/stats', new Uint32Array(4)),
    };
    const step = await createKmeansUpdateDispatch(gpu, buffers, { k, dim });
    submitDispatches(gpu, 'test', [step]);
    const centroids = new Float32Array(await readBuffer(gpu, buffers.centroids));
    const stats = new Uint32Array(await readBuffer(gpu, buffers.stats));
    step.destroy();
    for (const buffer of Object.values(buffers)) buffer.destroy();
    expect(stats[3]).toBe(empty.size);
    let mismatches = 0;
    for (let c = 0; c < k; c++) {
      const pair = c * (dim + 1);
      for (let j = 0; j < dim; j++) {
        // The host's updateCentroids: both integers to f64, the f64 quotient, rounded once to f32.
        const expected = empty.has(c) ? previous[c * dim + j] : Math.fround(decodeFixed(words, pair + j) / decodeFixed(words, pair + dim));
        if (!Object.is(centroids[c * dim + j], expected) && !(centroids[c * dim + j] === 0 && expected === 0)) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
  });
});
