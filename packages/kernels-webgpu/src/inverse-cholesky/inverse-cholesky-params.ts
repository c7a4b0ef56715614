import { packParams } from '../buffers';

/**
 * The `Params` struct shared by the five kernels of the inverse Cholesky factorization, field by field in
 * declaration order: `size` = n, `last` = n² − 1 (element (i, j) of the reversed matrix B = JAJ is at
 * `last − (i·n + j)`), `blockStart` and `blockSize` = the current diagonal block of B.
 */
export const inverseCholeskyParamsFields = [
  ['size', 'u32'],
  ['last', 'u32'],
  ['blockStart', 'u32'],
  ['blockSize', 'u32'],
] as const;

/** The bytes of one block's `Params` uniform. */
export function packInverseCholeskyParams(size: number, blockStart: number, blockSize: number): ArrayBuffer {
  return packParams([
    ['u32', size],
    ['u32', size * size - 1],
    ['u32', blockStart],
    ['u32', blockSize],
  ]);
}
