/** Dense row-major f64 `size × size` matrix: element (i, j) is `data[i * size + j]`. */
export interface SquareMatrix {
  readonly data: Float64Array;
  readonly size: number;
}

/** Throws unless `matrix` is a well-formed {@link SquareMatrix} (f32 data is accepted where `allowFloat32`). */
export function validateSquareMatrix(fn: string, name: string, matrix: SquareMatrix, allowFloat32 = false): void {
  const data = (matrix as { data?: unknown } | null | undefined)?.data;
  if (!(data instanceof Float64Array || (allowFloat32 && data instanceof Float32Array))) {
    throw new TypeError(
      `${fn}: ${name}.data must be a Float64Array${allowFloat32 ? ' or Float32Array' : ''} (got ${describe(data)})`,
    );
  }
  if (!Number.isSafeInteger(matrix.size) || matrix.size < 1) {
    throw new RangeError(`${fn}: ${name}.size must be a positive integer (got ${describe(matrix.size)})`);
  }
  if (data.length !== matrix.size * matrix.size) {
    throw new RangeError(
      `${fn}: ${name}.data must hold size × size values (got ${data.length}, expected ${matrix.size} × ${matrix.size})`,
    );
  }
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
