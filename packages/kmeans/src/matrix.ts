/**
 * Dense row-major f32 matrix: element (r, c) is `data[r * cols + c]`. For k-means, each row is one point
 * (or one centroid) and `cols` is the vector length.
 */
export interface Matrix {
  readonly data: Float32Array;
  readonly rows: number;
  readonly cols: number;
}

/** Throws unless `matrix` is a well-formed {@link Matrix} (`rows`, `cols` non-negative integers, exact length). */
export function validateMatrix(fn: string, name: string, matrix: Matrix): void {
  if (matrix === null || typeof matrix !== 'object' || !(matrix.data instanceof Float32Array)) {
    throw new TypeError(`${fn}: ${name}.data must be a Float32Array (got ${describe(matrix?.data)})`);
  }
  if (!Number.isSafeInteger(matrix.rows) || matrix.rows < 0) {
    throw new RangeError(`${fn}: ${name}.rows must be a non-negative integer (got ${matrix.rows})`);
  }
  if (!Number.isSafeInteger(matrix.cols) || matrix.cols < 1) {
    throw new RangeError(`${fn}: ${name}.cols must be a positive integer (got ${matrix.cols})`);
  }
  if (matrix.data.length !== matrix.rows * matrix.cols) {
    throw new RangeError(
      `${fn}: ${name}.data must hold rows × cols values (got ${matrix.data.length}, expected ${matrix.rows} × ${matrix.cols})`,
    );
  }
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
