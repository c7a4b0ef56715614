import { assertCount } from '../validate';

/** Side of the square tiles the accumulator stores and each workgroup computes. */
export const hessianTile = 64;
/** Tokens summed together in f32 before one compensated addition (the CPU accumulator's block, too). */
export const hessianBlockTokens = 64;
/** Blocks one dispatch walks at most (4096 tokens): bounds a dispatch's duration, never the result. */
export const maxBlocksPerDispatch = 64;
/** Bytes of one stored tile: 64 × 64 (hi, lo) f32 pairs. */
export const hessianTileBytes = hessianTile * hessianTile * 8;

/** The device limits the plans read. */
export interface HessianLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly minStorageBufferOffsetAlignment: number;
}

/** A run of whole tile rows of the packed upper triangle held in one buffer and bound at once. */
export interface HessianWindow {
  /** First tile row. */
  readonly tileRowStart: number;
  readonly tileRows: number;
  /** Packed index of the window's first tile (tiles before tile row r: r · tileColumns − r (r − 1) / 2). */
  readonly firstTile: number;
  readonly tiles: number;
  readonly byteLength: number;
}

/** Where the accumulator of {@link planHessianAccumulator} keeps its sums. */
export interface HessianAccumulatorPlan {
  readonly columns: number;
  /** ceil(columns / 64). */
  readonly tileColumns: number;
  readonly windows: readonly HessianWindow[];
}

/**
 * Splits the packed upper triangle of 64 × 64 tiles of an `[n, n]` accumulator by tile rows into windows of at
 * most one storage binding (and one buffer) each, as `uploadWeights` splits a matrix by rows.
 *
 * @param maxBindingBytes - a lower cap than the device's binding limit (to test windows); default none.
 * @throws {RangeError} when one tile row, or one block of inputs, exceeds the binding limit, or the tile grid the
 *   dispatch limit.
 */
export function planHessianAccumulator(
  fn: string,
  columns: number,
  limits: HessianLimits,
  maxBindingBytes = Number.POSITIVE_INFINITY,
): HessianAccumulatorPlan {
  assertCount(fn, 'columns', columns);
  const limit = Math.min(maxBindingBytes, limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const tileColumns = Math.ceil(columns / hessianTile);
  if (tileColumns * hessianTileBytes > limit) {
    throw new RangeError(
      `${fn}: columns = ${columns} needs ${tileColumns * hessianTileBytes} bytes for one row of 64 × 64 tiles, above the binding limit of ${limit} bytes (maxStorageBufferBindingSize ${limits.maxStorageBufferBindingSize}, maxBufferSize ${limits.maxBufferSize})`,
    );
  }
  if (tileColumns > limits.maxComputeWorkgroupsPerDimension) {
    throw new RangeError(
      `${fn}: columns = ${columns} needs ${tileColumns} workgroups per grid row, above the device's maxComputeWorkgroupsPerDimension of ${limits.maxComputeWorkgroupsPerDimension}`,
    );
  }
  const blockBytes = hessianBlockTokens * columns * 4;
  if (blockBytes + limits.minStorageBufferOffsetAlignment > limits.maxStorageBufferBindingSize) {
    throw new RangeError(
      `${fn}: columns = ${columns} makes one 64-token block of inputs ${blockBytes} bytes, above the device's maxStorageBufferBindingSize of ${limits.maxStorageBufferBindingSize}`,
    );
  }
  const windows: HessianWindow[] = [];
  let tileRowStart = 0;
  let firstTile = 0;
  while (tileRowStart < tileColumns) {
    let tileRows = 0;
    let tiles = 0;
    // Tile row r holds tileColumns − r tiles; rows shrink, so later windows take more rows. The first row of a
    // window always fits: row 0, the longest, was checked above.
    while (tileRowStart + tileRows < tileColumns) {
      const rowTiles = tileColumns - tileRowStart - tileRows;
      if ((tiles + rowTiles) * hessianTileBytes > limit) break;
      tiles += rowTiles;
      tileRows++;
    }
    windows.push({ tileRowStart, tileRows, firstTile, tiles, byteLength: tiles * hessianTileBytes });
    tileRowStart += tileRows;
    firstTile += tiles;
  }
  return { columns, tileColumns, windows };
}

/** One dispatch's view of the caller's inputs: a binding that starts at an aligned offset, and where its tokens start. */
export interface HessianInputRange {
  /** Byte offset of the binding in the caller's buffer (a multiple of minStorageBufferOffsetAlignment). */
  readonly byteOffset: number;
  readonly byteLength: number;
  /** Element index, within the binding, of the first block's first value. */
  readonly tokenOffset: number;
  readonly blocks: number;
}

/**
 * Cuts `blocks` whole 64-token blocks of `[tokens, columns]` f32 inputs, the first one starting at byte
 * `byteStart` of a buffer, into dispatch ranges of at most {@link maxBlocksPerDispatch} blocks whose bindings
 * start at aligned offsets and fit the binding limit. Any `byteStart` that is a multiple of 4 works: the binding
 * starts at the aligned offset below it and the kernel skips to the first token with `tokenOffset`.
 */
export function planHessianInputs(byteStart: number, blocks: number, columns: number, limits: HessianLimits): HessianInputRange[] {
  const alignment = limits.minStorageBufferOffsetAlignment;
  const blockBytes = hessianBlockTokens * columns * 4;
  // planHessianAccumulator checked that one block plus the alignment slack fits.
  const perDispatch = Math.min(maxBlocksPerDispatch, Math.floor((limits.maxStorageBufferBindingSize - alignment) / blockBytes));
  const ranges: HessianInputRange[] = [];
  for (let first = 0; first < blocks; first += perDispatch) {
    const count = Math.min(perDispatch, blocks - first);
    const start = byteStart + first * blockBytes;
    const byteOffset = Math.floor(start / alignment) * alignment;
    ranges.push({ byteOffset, byteLength: start - byteOffset + count * blockBytes, tokenOffset: (start - byteOffset) / 4, blocks: count });
  }
  return ranges;
}
