import { weightRowStride } from '@vptq/kernels-webgpu/authoring';
import type { GpuWeights, WeightFormat } from '@vptq/kernels-webgpu';

/**
 * Whether matrices of `rows` rows each (same `cols` and format) can be stored stacked in one binding and still
 * be addressed one by one: the stack fits `maxBytes` and every block starts at a multiple of the device's
 * storage offset alignment. Stacking q/k/v (and gate/up) lets one decode GEMV replace three (two).
 */
export function canStackRows(device: GPUDevice, rows: readonly number[], cols: number, format: WeightFormat, maxBytes = Infinity): boolean {
  const rowBytes = weightRowStride(cols, format) * (format === 'f16' ? 2 : 4);
  const limit = Math.min(maxBytes, device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const alignment = device.limits.minStorageBufferOffsetAlignment;
  let offset = 0;
  for (const count of rows) {
    if (offset % alignment !== 0) return false;
    offset += count * rowBytes;
  }
  return offset <= limit;
}

/**
 * Views of consecutive row blocks of a one-window matrix as matrices of their own (sharing its buffer; their
 * `destroy()` frees nothing). Check {@link canStackRows} first.
 *
 * @throws {RangeError} when the matrix has several windows, the blocks do not add up to its rows, or a block
 *   starts at an unaligned offset.
 */
export function splitRows(device: GPUDevice, whole: GpuWeights, rows: readonly number[]): GpuWeights[] {
  const fn = 'splitRows';
  if (whole.windows.length !== 1) throw new RangeError(`${fn}: the matrix must fit one window (got ${whole.windows.length})`);
  const total = rows.reduce((sum, count) => sum + count, 0);
  if (total !== whole.rows) throw new RangeError(`${fn}: the blocks must cover the ${whole.rows} rows (got ${total})`);
  const rowBytes = whole.rowStride * (whole.format === 'f16' ? 2 : 4);
  const { buffer, offset: base } = whole.windows[0].binding;
  const views: GpuWeights[] = [];
  let rowStart = 0;
  for (const count of rows) {
    const offset = base + rowStart * rowBytes;
    if (offset % device.limits.minStorageBufferOffsetAlignment !== 0) {
      throw new RangeError(`${fn}: block at row ${rowStart} starts at byte ${offset}, not a multiple of minStorageBufferOffsetAlignment`);
    }
    views.push({
      rows: count,
      cols: whole.cols,
      format: whole.format,
      rowStride: whole.rowStride,
      windows: [{ binding: { buffer, offset, size: Math.max(16, count * rowBytes) }, rowStart: 0, rows: count }],
      destroy() {},
    });
    rowStart += count;
  }
  return views;
}
