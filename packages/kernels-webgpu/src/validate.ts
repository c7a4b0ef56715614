/**
 * Asserts that `value` is an integer ≥ `min` (default 1) and ≤ `max`.
 *
 * @throws {RangeError} `fn: name must be an integer ≥ min (got value)`.
 */
export function assertCount(fn: string, name: string, value: unknown, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `between ${min} and ${max}`;
    throw new RangeError(`${fn}: ${name} must be an integer ${range} (got ${describe(value)})`);
  }
  return value;
}

/**
 * Asserts that a typed array has exactly `length` elements.
 *
 * @throws {TypeError} when `value` is not an instance of `type`.
 * @throws {RangeError} when the length differs.
 */
export function assertArray<T extends ArrayBufferView & { length: number }>(
  fn: string,
  name: string,
  value: unknown,
  type: abstract new (...args: never[]) => T,
  length: number,
  shape?: string,
): T {
  if (!(value instanceof type)) {
    throw new TypeError(`${fn}: ${name} must be a ${type.name} (got ${describe(value)})`);
  }
  if (value.length !== length) {
    throw new RangeError(`${fn}: ${name} must have ${length} elements${shape ? ` (${shape})` : ''} (got ${value.length})`);
  }
  return value;
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as { length?: number }).length ?? value.byteLength})`;
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}
