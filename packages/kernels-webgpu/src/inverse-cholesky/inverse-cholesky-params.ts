import { defineParams, u32Fields } from '../params-struct';

/**
 * The `Params` struct shared by the five kernels of the inverse Cholesky factorization, field by field in
 * declaration order: `size` = n, `last` = n² − 1 (element (i, j) of the reversed matrix B = JAJ is at
 * `last − (i·n + j)`), `blockStart` and `blockSize` = the current diagonal block of B.
 */
export const inverseCholeskyParams = defineParams('inverse-cholesky', u32Fields(['size', 'last', 'blockStart', 'blockSize'] as const));

/** The bytes of one block's `Params` uniform. */
export function packInverseCholeskyParams(size: number, blockStart: number, blockSize: number): ArrayBuffer {
  return inverseCholeskyParams.pack({ size, last: size * size - 1, blockStart, blockSize });
}
