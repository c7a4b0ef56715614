import { createCpuKmeansEngine } from '@vptq/kmeans/engine';
import { createTestRng, randomMatrix, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createBufferWithData, createStorageBuffer, readBuffer } from '../buffers';
import { compileShader } from '../compile-shader';
import { submitDispatches } from '../dispatch';
import { createKmeansMembersDispatch } from './kmeans-members';
import { kmeansMembersWgsl } from './kmeans-members.wgsl';

const device = await requestTestDevice();

describe.skipIf(!device)('createKmeansMembersDispatch', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('compiles', async () => {
    await expect(compileShader(gpu, 'kmeans-members', kmeansMembersWgsl)).resolves.toBeDefined();
  });

  it('lists the members of the requested clusters with their costs, as the CPU engine does, and counts past capacity', async () => {
    const count = 2000;
    const k = 40;
    const dim = 5;
    const points = randomMatrix({ rows: count, cols: dim, seed: 1 });
    const next = createTestRng(2);
    const weights = Float64Array.from({ length: count }, () => next() * 2);
    const centroids = randomMatrix({ rows: k, cols: dim, seed: 3 }).data;
    const cpu = createCpuKmeansEngine()({ points, weights, k });
    cpu.step(centroids);
    const assignments = cpu.assignments();
    const requested = new Uint32Array([7, 3, 31]);
    const reference = cpu.clusterMembers(requested, centroids);

    const slots = new Uint32Array(k).fill(0xffffffff);
    requested.forEach((cluster, slot) => (slots[cluster] = slot));
    const run = async (capacity: number, first: number) => {
      const buffers = {
        points: createBufferWithData(gpu, 'test/points', points.data),
        weights: createBufferWithData(gpu, 'test/weights', Float32Array.from(weights)),
        assignments: createBufferWithData(gpu, 'test/assignments', assignments),
        centroids: createBufferWithData(gpu, 'test/centroids', centroids),
        slots: createBufferWithData(gpu, 'test/slots', slots),
        counter: createStorageBuffer(gpu, 'test/counter', 16),
        entries: createStorageBuffer(gpu, 'test/entries', capacity * 16),
      };
      const dispatch = await createKmeansMembersDispatch(gpu, buffers, { count, first, capacity, dim });
      submitDispatches(gpu, 'test', [dispatch]);
      const found = new Uint32Array(await readBuffer(gpu, buffers.counter))[0];
      const entries = new Uint32Array(await readBuffer(gpu, buffers.entries, Math.min(found, capacity) * 16));
      dispatch.destroy();
      for (const buffer of Object.values(buffers)) buffer.destroy();
      return { found, entries };
    };

    const total = reference.offsets[requested.length];
    const { found, entries } = await run(total, 1000);
    expect(found).toBe(total);
    const bits = new Float32Array(entries.buffer);
    const listed = Array.from({ length: found }, (_, i) => [entries[4 * i + 1], entries[4 * i] - 1000, bits[4 * i + 2]] as const).sort(
      (a, b) => a[0] - b[0] || a[1] - b[1],
    );
    listed.forEach(([slot, point, cost], i) => {
      expect(i).toBeGreaterThanOrEqual(reference.offsets[slot]);
      expect(i).toBeLessThan(reference.offsets[slot + 1]);
      expect(point).toBe(reference.points[i]);
      // f32 weight, differences, squares and sum: (dim + 2)·2^-24 relative at most, every term positive.
      expect(Math.abs(cost - reference.costs[i])).toBeLessThanOrEqual((dim + 2) * 2 ** -24 * reference.costs[i]);
    });

    const short = await run(10, 0);
    expect(short.found).toBe(total);
  });
});
