import { bufferUsage } from './gpu-flags';
import type { BufferBinding } from './buffers';
import { assertArray, assertCount } from './validate';

/** Storage format of a dense weight matrix on the GPU: f32, or f16 bit patterns packed two per u32. */
export type WeightFormat = 'f32' | 'f16';

/** A range of whole rows of a weight matrix that fits in one storage binding. */
export interface WeightWindow {
  /** The buffer range (offset a multiple of 256 bytes) holding `rows` rows of `rowStride` elements. */
  readonly binding: { readonly buffer: GPUBuffer; readonly offset: number; readonly size: number };
  /** The first matrix row in this window. */
  readonly rowStart: number;
  readonly rows: number;
}

/**
 * A dense row-major `[rows, cols]` weight matrix resident on the GPU, split by rows into windows that each
 * fit `maxStorageBufferBindingSize` (an lm_head can exceed one binding). Rows are zero-padded to `rowStride`
 * elements so that kernels can read 16-byte vectors.
 */
export interface GpuWeights {
  readonly rows: number;
  readonly cols: number;
  readonly format: WeightFormat;
  /** Elements per stored row: `cols` rounded up to a multiple of 4 (f32) or 8 (f16). */
  readonly rowStride: number;
  readonly windows: readonly WeightWindow[];
  /** Destroys the buffers (only those this object allocated). */
  destroy(): void;
}

/** Options of {@link uploadWeights}. */
export interface UploadWeightsOptions {
  /** Buffer label. Default `'weights'`. */
  readonly label?: string;
  /** Largest bytes per window; default (and at most) the device's `maxStorageBufferBindingSize`. */
  readonly maxBindingBytes?: number;
  /** Largest bytes per buffer; default (and at most) the device's `maxBufferSize`. */
  readonly maxBufferBytes?: number;
}

/** Elements per stored row for `cols` columns in `format` (16-byte rows). */
export function weightRowStride(cols: number, format: WeightFormat): number {
  const multiple = format === 'f16' ? 8 : 4;
  return Math.ceil(cols / multiple) * multiple;
}

/**
 * Uploads a dense row-major weight matrix, splitting it by rows into windows of at most one storage binding
 * each, at 256-byte aligned offsets, over as many buffers as `maxBufferSize` requires.
 *
 * @param data - `[rows, cols]` row-major: `Float32Array` for `'f32'`, `Uint16Array` f16 bit patterns for `'f16'`.
 * @param shape - `rows`, `cols` and `format`.
 * @throws {RangeError} when the data length is not rows × cols, or one row group does not fit a binding.
 * @throws {TypeError} when the array type does not match `format`.
 */
export function uploadWeights(
  device: GPUDevice,
  data: Float32Array | Uint16Array,
  shape: { readonly rows: number; readonly cols: number; readonly format: WeightFormat },
  options: UploadWeightsOptions = {},
): GpuWeights {
  const fn = 'uploadWeights';
  const { rows, cols, format } = checkShape(fn, shape);
  const elements: Float32Array | Uint16Array =
    format === 'f32'
      ? assertArray(fn, 'data', data, Float32Array, rows * cols, '[rows, cols]')
      : assertArray(fn, 'data', data, Uint16Array, rows * cols, '[rows, cols]');
  const source = new Uint8Array(elements.buffer, elements.byteOffset, elements.byteLength);
  const sourceRowBytes = cols * (format === 'f32' ? 4 : 2);
  return createWindows(fn, device, { rows, cols, format }, options, (mapped, rowStart, rowCount, rowBytes) => {
    if (rowBytes === sourceRowBytes) {
      mapped.set(source.subarray(rowStart * rowBytes, (rowStart + rowCount) * rowBytes));
      return;
    }
    for (let row = 0; row < rowCount; row++) {
      const from = (rowStart + row) * sourceRowBytes;
      mapped.set(source.subarray(from, from + sourceRowBytes), row * rowBytes);
    }
  });
}

/**
 * Allocates a zeroed `[rows, cols]` weight matrix in the windows {@link uploadWeights} would use, for weights made
 * on the GPU (dequantized, or random benchmark weights): write each window's binding.
 *
 * @throws {RangeError} when one row group does not fit a binding.
 */
export function allocateWeights(
  device: GPUDevice,
  shape: { readonly rows: number; readonly cols: number; readonly format: WeightFormat },
  options: UploadWeightsOptions = {},
): GpuWeights {
  return createWindows('allocateWeights', device, checkShape('allocateWeights', shape), options, undefined);
}

function checkShape(fn: string, shape: { readonly rows: number; readonly cols: number; readonly format: WeightFormat }) {
  const rows = assertCount(fn, 'shape.rows', shape.rows);
  const cols = assertCount(fn, 'shape.cols', shape.cols);
  const format = shape.format;
  if (format !== 'f32' && format !== 'f16') {
    throw new TypeError(`${fn}: shape.format must be 'f32' or 'f16' (got ${String(format)})`);
  }
  return { rows, cols, format };
}

/** The buffers and windows of a matrix; `write` (when given) fills each buffer's rows while it is mapped. */
function createWindows(
  fn: string,
  device: GPUDevice,
  shape: { readonly rows: number; readonly cols: number; readonly format: WeightFormat },
  options: UploadWeightsOptions,
  write: ((mapped: Uint8Array, rowStart: number, rowCount: number, rowBytes: number) => void) | undefined,
): GpuWeights {
  const { rows, cols, format } = shape;
  const rowStride = weightRowStride(cols, format);
  const rowBytes = rowStride * (format === 'f32' ? 4 : 2);
  const plan = planWindows(fn, device, rows, rowBytes, options);
  const label = options.label ?? 'weights';
  const buffers: GPUBuffer[] = [];
  const windows: WeightWindow[] = [];
  try {
    for (const bufferPlan of plan) {
      const buffer = device.createBuffer({
        label,
        size: bufferPlan.byteLength,
        usage: bufferUsage.storage | bufferUsage.copySrc | bufferUsage.copyDst,
        mappedAtCreation: write !== undefined,
      });
      buffers.push(buffer);
      const rowStart = bufferPlan.windows[0].rowStart;
      if (write) {
        write(new Uint8Array(buffer.getMappedRange()), rowStart, bufferPlan.windows.reduce((sum, window) => sum + window.rows, 0), rowBytes);
        buffer.unmap();
      }
      for (const window of bufferPlan.windows) {
        windows.push({
          binding: { buffer, offset: (window.rowStart - rowStart) * rowBytes, size: Math.max(16, window.rows * rowBytes) },
          rowStart: window.rowStart,
          rows: window.rows,
        });
      }
    }
  } catch (error) {
    for (const buffer of buffers) buffer.destroy();
    throw error;
  }
  return {
    rows,
    cols,
    format,
    rowStride,
    windows,
    destroy() {
      for (const buffer of buffers) buffer.destroy();
    },
  };
}

/**
 * Wraps an existing buffer that holds a `[rows, rowStride]` matrix (e.g. the output of VQ dequantization)
 * as {@link GpuWeights} with one window; `destroy()` leaves the buffer alone.
 *
 * @throws {RangeError} when the buffer is too small or exceeds one binding.
 */
export function describeWeights(
  device: GPUDevice,
  binding: BufferBinding,
  shape: { readonly rows: number; readonly cols: number; readonly format: WeightFormat },
): GpuWeights {
  const fn = 'describeWeights';
  const rows = assertCount(fn, 'shape.rows', shape.rows);
  const cols = assertCount(fn, 'shape.cols', shape.cols);
  const rowStride = weightRowStride(cols, shape.format);
  const size = Math.max(16, rows * rowStride * (shape.format === 'f32' ? 4 : 2));
  const buffer = 'buffer' in binding ? binding.buffer : binding;
  const offset = 'buffer' in binding ? (binding.offset ?? 0) : 0;
  if (offset + size > buffer.size || size > device.limits.maxStorageBufferBindingSize) {
    throw new RangeError(
      `${fn}: a [${rows}, ${rowStride}] ${shape.format} matrix needs ${size} bytes in one binding (got a buffer of ${buffer.size} bytes at offset ${offset}, maxStorageBufferBindingSize ${device.limits.maxStorageBufferBindingSize})`,
    );
  }
  return {
    rows,
    cols,
    format: shape.format,
    rowStride,
    windows: [{ binding: { buffer, offset, size }, rowStart: 0, rows }],
    destroy() {},
  };
}

interface BufferPlan {
  readonly byteLength: number;
  readonly windows: readonly { readonly rowStart: number; readonly rows: number }[];
}

/**
 * Rows per window of a `[rows, rowBytes]` matrix split as {@link uploadWeights} splits it: all rows when they fit
 * one binding (and buffer), else the most that fit while every window offset stays 256-byte aligned.
 *
 * @param fn - the caller, named in the error.
 * @throws {RangeError} when even the smallest aligned window exceeds the binding limit.
 */
export function weightRowsPerWindow(
  fn: string,
  device: GPUDevice,
  rows: number,
  rowBytes: number,
  options: Pick<UploadWeightsOptions, 'maxBindingBytes' | 'maxBufferBytes'> = {},
): number {
  const maxBinding = Math.min(options.maxBindingBytes ?? Infinity, device.limits.maxStorageBufferBindingSize);
  const maxBuffer = Math.min(options.maxBufferBytes ?? Infinity, device.limits.maxBufferSize);
  const alignment = Math.max(256, device.limits.minStorageBufferOffsetAlignment);
  // Window offsets are multiples of its row count × rowBytes, so make that a multiple of the alignment.
  const granule = alignment / gcd(rowBytes, alignment);
  const fitting = Math.floor(Math.min(maxBinding, maxBuffer) / rowBytes);
  let rowsPerWindow: number;
  if (rows <= fitting) rowsPerWindow = rows;
  else rowsPerWindow = Math.floor(fitting / granule) * granule;
  if (rowsPerWindow === 0) {
    throw new RangeError(
      `${fn}: ${granule} rows of ${rowBytes} bytes (the smallest 256-byte aligned window) exceed the binding limit of ${Math.min(maxBinding, maxBuffer)} bytes`,
    );
  }
  return rowsPerWindow;
}

function planWindows(fn: string, device: GPUDevice, rows: number, rowBytes: number, options: UploadWeightsOptions): BufferPlan[] {
  const maxBuffer = Math.min(options.maxBufferBytes ?? Infinity, device.limits.maxBufferSize);
  const rowsPerWindow = weightRowsPerWindow(fn, device, rows, rowBytes, options);
  const windowBytes = rowsPerWindow * rowBytes;
  const windowsPerBuffer = Math.max(1, Math.floor(maxBuffer / windowBytes));
  const plans: BufferPlan[] = [];
  let rowStart = 0;
  while (rowStart < rows) {
    const windows: { rowStart: number; rows: number }[] = [];
    while (windows.length < windowsPerBuffer && rowStart < rows) {
      const count = Math.min(rowsPerWindow, rows - rowStart);
      windows.push({ rowStart, rows: count });
      rowStart += count;
    }
    const byteLength = windows.reduce((sum, window) => sum + window.rows * rowBytes, 0);
    plans.push({ byteLength: Math.max(16, Math.ceil(byteLength / 16) * 16), windows });
  }
  return plans;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
