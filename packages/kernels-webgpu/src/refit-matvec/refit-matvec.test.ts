import { createTestRng, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createBufferWithData, readBuffer } from '../buffers';
import { compileShader } from '../compile-shader';
import { submitDispatches } from '../dispatch';
import { createRefitMatvecDispatch } from './refit-matvec';
import type { RefitMatvecShape } from './refit-matvec';
import { refitMatvecWgsl } from './refit-matvec.wgsl';

const device = await requestTestDevice();
const unit = 2 ** -24;

// n = 70: a ragged 64-column tile and 256-lane row; v = 5 with filled = 3, so columns 3 and 4 use the cut matrix.
const n = 70;
const v = 5;
const filled = 3;
const stride = 4928; // ≥ n², a multiple of 64
const next = createTestRng(11);
const matrices = Float32Array.from({ length: 2 * stride }, () => next() * 2 - 1);
const x = Float32Array.from({ length: n * v }, () => next() * 2 - 1);
const y0 = Float32Array.from({ length: n * v }, () => next() * 2 - 1);

/** f64 reference of one shape, with the bound of its f32 sums: (terms + 2)·u·Σ|terms|. */
function reference(shape: Partial<RefitMatvecShape> & { access: 'column' | 'row' }): { value: Float64Array; bound: Float64Array } {
  const value = new Float64Array(n * v);
  const bound = new Float64Array(n * v);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < v; j++) {
      const offset = j < filled ? 0 : stride;
      let sum = 0;
      let magnitude = 0;
      for (let k = 0; k < n; k++) {
        if (shape.upper && (shape.access === 'column' ? k > i : k < i)) continue;
        const a = shape.access === 'column' ? matrices[offset + k * n + i] : matrices[offset + i * n + k];
        sum += a * x[k * v + j];
        magnitude += Math.abs(a * x[k * v + j]);
      }
      value[i * v + j] = sum;
      bound[i * v + j] = (n + 2) * unit * magnitude;
    }
  }
  return { value, bound };
}

describe.skipIf(!device)('createRefitMatvecDispatch', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('compiles both access patterns', async () => {
    await expect(compileShader(gpu, 'refit-matvec', refitMatvecWgsl)).resolves.toBeDefined();
  });

  const cases: [string, Partial<RefitMatvecShape> & { access: 'column' | 'row' }][] = [
    ['column access (Aᵀ·x)', { access: 'column' }],
    ['row access (A·x)', { access: 'row' }],
    ['column access, upper triangle (Uᵀ·t)', { access: 'column', upper: true }],
    ['row access, upper triangle (U·r)', { access: 'row', upper: true }],
  ];
  for (const [name, shape] of cases) {
    it(`computes ${name} per column's matrix within the f32 bound of f64`, async () => {
      const buffers = {
        matrices: createBufferWithData(gpu, 'test/matrices', matrices),
        x: createBufferWithData(gpu, 'test/x', x),
        y: createBufferWithData(gpu, 'test/y', y0),
      };
      const dispatch = await createRefitMatvecDispatch(gpu, buffers, { unknowns: n, vectorLength: v, filled, matrixStride: stride, ...shape });
      submitDispatches(gpu, 'test', [dispatch]);
      const first = new Float32Array(await readBuffer(gpu, buffers.y));
      const { value, bound } = reference(shape);
      for (let i = 0; i < n * v; i++) expect(Math.abs(first[i] - value[i])).toBeLessThanOrEqual(bound[i]);
      submitDispatches(gpu, 'test', [dispatch]);
      expect(new Float32Array(await readBuffer(gpu, buffers.y))).toEqual(first);
      dispatch.destroy();
      for (const buffer of Object.values(buffers)) buffer.destroy();
    });
  }

  it('rejects an unknown access and a stride below n² when there is a cut matrix', async () => {
    const buffer = createBufferWithData(gpu, 'test/any', new Float32Array(4));
    const buffers = { matrices: buffer, x: buffer, y: buffer };
    await expect(createRefitMatvecDispatch(gpu, buffers, { unknowns: 2, vectorLength: 2, filled: 2, matrixStride: 0, access: 'diagonal' as never })).rejects.toThrow(
      /shape.access must be 'column' or 'row'/,
    );
    await expect(createRefitMatvecDispatch(gpu, buffers, { unknowns: 3, vectorLength: 2, filled: 1, matrixStride: 8, access: 'row' })).rejects.toThrow(
      /shape.matrixStride must be an integer ≥ 9 \(got 8\)/,
    );
    buffer.destroy();
  });
});
