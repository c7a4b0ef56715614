import { isDeviceMatrix } from '@vptq/hessian';
import type { DeviceMatrix, PreparedHessian } from '@vptq/hessian';

import { describe } from './validate';

/** What the quantizers use from a prepared Hessian, in the orders they need. */
export interface PreparedInputs {
  /** `[in]` u32: original column at quantization position p. */
  readonly perm: Uint32Array;
  /** Whether `perm` differs from the identity. */
  readonly permuted: boolean;
  /** `[in, in]` upper Cholesky factor of H⁻¹ in quantization order: f64, or on a device. */
  readonly inverseCholesky: Float64Array | DeviceMatrix;
  /** `[in]` 1 for columns (original order) whose Hessian diagonal was 0: never-active inputs. */
  readonly dead: Uint8Array;
  /** `[in]` f64 diag(H) in quantization order: the k-means sample weight of each column. */
  readonly diagonal: Float64Array;
}

/**
 * Checks a `prepareHessian` result against a layer with `size` input columns and puts its parts in the orders
 * the column loop needs. A factor on a device (`prepareHessianGpu`, which checked it there) is checked for its
 * size only.
 *
 * @throws {RangeError} on size mismatches, a `perm` that is not a permutation, or a host factor whose diagonal
 *   is not finite and positive.
 */
export function readPrepared(fn: string, prepared: PreparedHessian<Float64Array | DeviceMatrix>, size: number): PreparedInputs {
  if (typeof prepared !== 'object' || prepared === null) {
    throw new TypeError(`${fn}: prepared must be the result of prepareHessian (got ${describe(prepared)})`);
  }
  const { perm: sourcePerm, inverseCholesky, diagonal: sourceDiagonal, deadColumns } = prepared;
  if (sourcePerm?.length !== size) {
    throw new RangeError(`${fn}: prepared.perm must have one entry per weight column (got ${describe(sourcePerm)}, columns = ${size})`);
  }
  const onDevice = isDeviceMatrix(inverseCholesky);
  if (onDevice ? inverseCholesky.size !== size : !(inverseCholesky instanceof Float64Array) || inverseCholesky.length !== size * size) {
    throw new RangeError(
      `${fn}: prepared.inverseCholesky must be a Float64Array or device matrix of ${size} × ${size} (got ${describe(inverseCholesky)}${onDevice ? ` of size ${inverseCholesky.size}` : ''})`,
    );
  }
  if (sourceDiagonal?.length !== size) {
    throw new RangeError(`${fn}: prepared.diagonal must have one entry per weight column (got ${describe(sourceDiagonal)})`);
  }

  const perm = new Uint32Array(size);
  const seen = new Uint8Array(size);
  let permuted = false;
  for (let position = 0; position < size; position++) {
    const column = sourcePerm[position];
    if (!Number.isInteger(column) || column < 0 || column >= size || seen[column] === 1) {
      throw new RangeError(`${fn}: prepared.perm must be a permutation of 0..${size - 1} (got ${column} at position ${position})`);
    }
    seen[column] = 1;
    perm[position] = column;
    if (column !== position) permuted = true;
  }

  if (!onDevice) checkFactor(fn, inverseCholesky as Float64Array, size);

  for (let position = 0; position < size; position++) {
    const value = sourceDiagonal[position];
    if (!(value >= 0 && Number.isFinite(value))) {
      throw new RangeError(`${fn}: prepared.diagonal must be finite and non-negative (got ${value} at position ${position})`);
    }
  }
  const diagonal = Float64Array.from(sourceDiagonal);

  if (!Array.isArray(deadColumns)) {
    throw new TypeError(`${fn}: prepared.deadColumns must be an array of column indices (got ${describe(deadColumns)})`);
  }
  const dead = new Uint8Array(size);
  for (let i = 0; i < deadColumns.length; i++) {
    const column = deadColumns[i];
    if (!Number.isInteger(column) || column < 0 || column >= size) {
      throw new RangeError(`${fn}: prepared.deadColumns must hold column indices below ${size} (got ${column})`);
    }
    dead[column] = 1;
  }
  return { perm, permuted, inverseCholesky, dead, diagonal };
}

/** A host factor's diagonal is finite and positive and every entry finite. */
function checkFactor(fn: string, inverseCholesky: Float64Array, size: number): void {
  for (let position = 0; position < size; position++) {
    const pivot = inverseCholesky[position * size + position];
    if (!(pivot > 0 && Number.isFinite(pivot))) {
      throw new RangeError(
        `${fn}: prepared.inverseCholesky must have a finite positive diagonal (got ${pivot} at position ${position})`,
      );
    }
  }
  for (let i = 0; i < inverseCholesky.length; i++) {
    if (!Number.isFinite(inverseCholesky[i])) {
      throw new RangeError(`${fn}: prepared.inverseCholesky must be finite (got ${inverseCholesky[i]} at ${i})`);
    }
  }
}

/**
 * `value` as the host matrix a CPU engine needs.
 *
 * @throws {TypeError} for a device matrix, naming `name`.
 */
export function hostMatrix(fn: string, name: string, value: Float64Array | DeviceMatrix): Float64Array {
  if (value instanceof Float64Array) return value;
  throw new TypeError(`${fn}: ${name} lives on a device (prepareHessianGpu): the CPU engines need it as a host Float64Array (prepare with prepareHessian or prepareHessianAsync)`);
}
