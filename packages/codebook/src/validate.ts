import { firstNonFinite } from '@vptq/kmeans';
import type { Matrix } from '@vptq/kmeans';

/** Throws unless `value` is an integer in [min, max]. */
export function assertInteger(fn: string, name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer between ${min} and ${max}`;
    throw new RangeError(`${fn}: ${name} must be ${range} (got ${String(value)})`);
  }
  return value;
}

/** Throws unless `value` is a power of two in [2, max]. */
export function assertPowerOfTwo(fn: string, name: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 2 || value > max || (value & (value - 1)) !== 0) {
    throw new RangeError(`${fn}: ${name} must be a power of two between 2 and ${max} (got ${String(value)})`);
  }
  return value;
}

/** Throws unless `value` is a boolean. */
export function assertBoolean(fn: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${fn}: ${name} must be a boolean (got ${String(value)})`);
  return value;
}

/** Throws unless `weight` is a well-formed, finite `[rows, cols]` Float32Array matrix. */
export function assertWeight(fn: string, weight: Matrix): void {
  assertWeightShape(fn, weight);
  assertFiniteWeight(fn, weight);
}

/** {@link assertWeight}'s checks of the matrix's form (type, sizes, length), without the scan of its values. */
export function assertWeightShape(fn: string, weight: Matrix): void {
  if (typeof weight !== 'object' || weight === null || !(weight.data instanceof Float32Array)) {
    throw new TypeError(`${fn}: weight.data must be a Float32Array (got ${describe(weight?.data)})`);
  }
  assertInteger(fn, 'weight.rows', weight.rows, 1);
  assertInteger(fn, 'weight.cols', weight.cols, 1);
  if (weight.data.length !== weight.rows * weight.cols) {
    throw new RangeError(
      `${fn}: weight.data must hold rows × cols values (got ${weight.data.length} for ${weight.rows} × ${weight.cols})`,
    );
  }
}

/** Throws {@link assertWeight}'s error for the first NaN or ±Infinity of a well-formed weight, if it holds one. */
export function assertFiniteWeight(fn: string, weight: Matrix): void {
  const data = weight.data;
  const i = firstNonFinite(data);
  if (i !== -1) {
    throw new RangeError(
      `${fn}: weight must be finite (got ${data[i]} at row ${Math.floor(i / weight.cols)}, column ${i % weight.cols})`,
    );
  }
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<number>).length})`;
  if (Array.isArray(value)) return `Array(${value.length})`;
  return typeof value === 'object' ? 'object' : String(value);
}
