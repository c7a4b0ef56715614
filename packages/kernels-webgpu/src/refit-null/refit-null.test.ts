import { createTestRng, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createBufferWithData, createStorageBuffer, readBuffer } from '../buffers';
import { compileShader } from '../compile-shader';
import { submitDispatches } from '../dispatch';
import { createRefitNullDispatch } from './refit-null';
import { refitNullWgsl } from './refit-null.wgsl';

const device = await requestTestDevice();

describe.skipIf(!device)('createRefitNullDispatch', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('compiles', async () => {
    await expect(compileShader(gpu, 'refit-null', refitNullWgsl)).resolves.toBeDefined();
  });

  it('projects z off every null direction, per column (full and cut sets), leaving other slots alone', async () => {
    // 2 directions over slots 5–304 (300 slots: more than one workgroup's lanes) and 400–409; v = 3, filled = 2.
    const unknowns = 420;
    const v = 3;
    const filled = 2;
    const next = createTestRng(31);
    const z = Float32Array.from({ length: unknowns * v }, () => next() * 2 - 1);
    const codes = new Uint32Array(unknowns);
    const ranges = [
      [5, 305],
      [400, 410],
    ];
    const groups: number[] = [];
    ranges.forEach(([first, end], g) => {
      let full = 0;
      let cut = 0;
      for (let k = first; k < end; k++) {
        if (k % 7 === 0) continue; // unused
        const usedCut = k % 5 === 0 ? 0 : 1;
        codes[k] = ((g + 1) << 3) | (usedCut << 2) | 2 | (k % 3 === 0 ? 1 : 0);
        full++;
        cut += usedCut;
      }
      groups.push(first, end, full, cut);
    });
    const buffers = {
      nullSlots: createBufferWithData(gpu, 'test/null-slots', codes),
      nullGroups: createBufferWithData(gpu, 'test/null-groups', Uint32Array.from(groups)),
      values: createBufferWithData(gpu, 'test/z', z),
      coefficients: createStorageBuffer(gpu, 'test/coefficients', 2 * v * 4),
    };
    const dispatch = await createRefitNullDispatch(gpu, buffers, { unknowns, vectorLength: v, filled, groups: 2 });
    submitDispatches(gpu, 'test', [dispatch]);
    const projected = new Float32Array(await readBuffer(gpu, buffers.values, unknowns * v * 4));
    const weight = (k: number, j: number) => {
      const code = codes[k];
      if (code === 0) return 0;
      const used = j < filled ? (code >> 1) & 1 : (code >> 2) & 1;
      return used === 0 ? 0 : code & 1 ? -1 : 1;
    };
    ranges.forEach(([first, end]) => {
      for (let j = 0; j < v; j++) {
        let dot = 0;
        let magnitude = 0;
        let count = 0;
        let coefficient = 0;
        for (let k = first; k < end; k++) {
          dot += weight(k, j) * projected[k * v + j];
          magnitude += Math.abs(projected[k * v + j]);
          count += weight(k, j) ** 2;
          coefficient += weight(k, j) * z[k * v + j];
        }
        coefficient /= count;
        // Orthogonal to n_g up to f32 rounding of the 300-term sums.
        expect(Math.abs(dot)).toBeLessThan(1e-5 * magnitude);
        for (let k = first; k < end; k++) expect(projected[k * v + j]).toBeCloseTo(z[k * v + j] - weight(k, j) * coefficient, 5);
      }
    });
    for (let k = 0; k < unknowns; k++) {
      if (codes[k] === 0) for (let j = 0; j < v; j++) expect(projected[k * v + j]).toBe(z[k * v + j]);
    }
    dispatch.destroy();
    for (const buffer of Object.values(buffers)) buffer.destroy();
  });
});
