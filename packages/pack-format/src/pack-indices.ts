/**
 * Shape and bit widths of a packed `indices` tensor (spec §5.3), named as in {@link VptqLayerLayout}, so a
 * layer's layout can be passed as it is.
 */
export interface PackedIndexLayout {
  /** G, the number of codebook groups. */
  readonly groupNum: number;
  /** R = ceil(out / v), vector-rows per group. */
  readonly vectorRows: number;
  /** S, columns per group (fields per packed row). */
  readonly groupSize: number;
  /** ib = log2 K, bits of the main index, 1..32. */
  readonly indexBits: number;
  /** rb = log2 Kr, bits of the residual index, 0 when there is no residual; ib + rb ≤ 32. */
  readonly residualBits: number;
}

/** Options of {@link packIndices}: the layout plus the indices to pack. */
export interface PackIndicesOptions extends PackedIndexLayout {
  /** `[G, R, S]` main indices, each < 2^ib. */
  readonly main: Uint16Array | Uint32Array;
  /** `[G, R, S]` residual indices, each < 2^rb; required exactly when `residualBits > 0`. */
  readonly residual?: Uint16Array | Uint32Array;
}

/** Indices unpacked by {@link unpackIndices}. */
export interface UnpackedIndices {
  /** `[G, R, S]` main indices: Uint16Array when ib ≤ 16, otherwise Uint32Array. */
  readonly main: Uint16Array | Uint32Array;
  /** `[G, R, S]` residual indices (Uint16Array when rb ≤ 16), absent when rb = 0. */
  readonly residual: Uint16Array | Uint32Array | undefined;
}

/**
 * P = ceil(S · tb / 32), the number of 32-bit words of one packed (group, vector-row) row.
 *
 * @param groupSize - S, fields per row.
 * @param totalBits - tb = ib + rb, 1..32.
 * @throws {RangeError} for a negative S or tb outside 1..32.
 */
export function packedRowWords(groupSize: number, totalBits: number): number {
  if (!Number.isSafeInteger(groupSize) || groupSize < 0) {
    throw new RangeError(`packedRowWords: groupSize must be a non-negative integer (got ${groupSize})`);
  }
  if (!Number.isInteger(totalBits) || totalBits < 1 || totalBits > 32) {
    throw new RangeError(`packedRowWords: totalBits must be an integer in 1..32 (got ${totalBits})`);
  }
  return Math.ceil((groupSize * totalBits) / 32);
}

/**
 * Packs VPTQ indices into the reference's I32 `indices` layout (spec §5.3): for each (group g,
 * vector-row r), the S fields `main | residual << ib` of tb = ib + rb bits form an LSB-first bitstream
 * (bit b of field s is stream bit s·tb + b; stream bit k is bit k & 31 of word k >> 5), zero-padded so
 * every row starts on a fresh 32-bit word.
 *
 * @param options - `[G, R, S]` main (and residual) indices and the layout.
 * @returns `[G, R, P]` words, P = ceil(S·tb/32); store them as I32 (same little-endian bytes).
 * @throws {RangeError} if a length disagrees with G·R·S, an index does not fit its bits, or the bit
 * widths are outside 1 ≤ ib, 0 ≤ rb, ib + rb ≤ 32.
 * @throws {TypeError} if `residual` is given without residual bits or missing with them.
 */
export function packIndices(options: PackIndicesOptions): Uint32Array {
  const { main, residual } = options;
  const { groupNum: groups, vectorRows: rows, groupSize: columns, indexBits, residualBits, totalBits, rowWords } = checkLayout('packIndices', options);
  const count = groups * rows * columns;
  checkIndices('packIndices', 'main', main, count, indexBits);
  if (residualBits > 0) {
    if (residual === undefined) throw new TypeError('packIndices: residual is required when residualBits > 0');
    checkIndices('packIndices', 'residual', residual, count, residualBits);
  } else if (residual !== undefined) {
    throw new TypeError('packIndices: residual must be omitted when residualBits is 0');
  }

  const words = new Uint32Array(groups * rows * rowWords);
  const residualScale = 2 ** indexBits;
  for (let row = 0; row < groups * rows; row++) {
    const rowStart = row * rowWords;
    const indexStart = row * columns;
    for (let s = 0; s < columns; s++) {
      // Multiplication, not <<, because the field may need all 32 bits.
      const field = main[indexStart + s] + (residual === undefined ? 0 : residual[indexStart + s] * residualScale);
      const bit = s * totalBits;
      const word = rowStart + (bit >>> 5);
      const shift = bit & 31;
      words[word] |= field << shift;
      if (shift + totalBits > 32) words[word + 1] |= field >>> (32 - shift);
    }
  }
  return words;
}

/**
 * Unpacks an I32 `indices` tensor (read as uint32 words) into main and residual indices, the inverse of
 * {@link packIndices}. Padding bits are ignored.
 *
 * @param words - `[G, R, P]` packed words, P = ceil(S·tb/32).
 * @param layout - G, R, S, ib and rb.
 * @returns `[G, R, S]` main and (when rb > 0) residual indices.
 * @throws {RangeError} if `words` has the wrong length or the layout is invalid.
 */
export function unpackIndices(words: Uint32Array, layout: PackedIndexLayout): UnpackedIndices {
  const { groupNum: groups, vectorRows: rows, groupSize: columns, indexBits, residualBits, totalBits, rowWords } = checkLayout('unpackIndices', layout);
  if (!(words instanceof Uint32Array)) throw new TypeError('unpackIndices: words must be a Uint32Array');
  if (words.length !== groups * rows * rowWords) {
    throw new RangeError(
      `unpackIndices: words must hold G·R·P = ${groups}·${rows}·${rowWords} = ${groups * rows * rowWords} values (got ${words.length})`,
    );
  }
  const count = groups * rows * columns;
  const main = indexBits <= 16 ? new Uint16Array(count) : new Uint32Array(count);
  const residual = residualBits === 0 ? undefined : residualBits <= 16 ? new Uint16Array(count) : new Uint32Array(count);
  const mainMask = lowBitsMask(indexBits);
  for (let row = 0; row < groups * rows; row++) {
    const rowStart = row * rowWords;
    for (let s = 0; s < columns; s++) {
      const field = readField(words, rowStart, s, totalBits);
      main[row * columns + s] = (field & mainMask) >>> 0;
      // A residual implies ib ≤ 31, and field < 2^tb already bounds the residual to rb bits.
      if (residual !== undefined) residual[row * columns + s] = field >>> indexBits;
    }
  }
  return { main, residual };
}

/**
 * The tb-bit field number `s` of the packed row that starts at word `rowWordOffset`, as an unsigned
 * integer in [0, 2^tb); it may straddle two words. The main index is `field & (2^ib − 1)` and the
 * residual `(field >>> ib) & (2^rb − 1)`.
 *
 * Arguments are not validated (this is the inner loop of dequantization).
 *
 * @param words - packed words (uint32).
 * @param rowWordOffset - index of the row's first word, (g·R + r)·P.
 * @param s - field index within the row, 0 ≤ s < S.
 * @param totalBits - tb, 1..32.
 */
export function readField(words: Uint32Array, rowWordOffset: number, s: number, totalBits: number): number {
  const bit = s * totalBits;
  const word = rowWordOffset + (bit >>> 5);
  const shift = bit & 31;
  let value = words[word] >>> shift;
  if (shift + totalBits > 32) value |= words[word + 1] << (32 - shift);
  return totalBits === 32 ? value >>> 0 : (value & lowBitsMask(totalBits)) >>> 0;
}

function lowBitsMask(bits: number): number {
  return bits >= 32 ? 0xffffffff : 2 ** bits - 1;
}

function checkLayout(fn: string, layout: PackedIndexLayout) {
  const { groupNum, vectorRows, groupSize, indexBits, residualBits } = layout;
  for (const [name, value] of [
    ['groupNum', groupNum],
    ['vectorRows', vectorRows],
    ['groupSize', groupSize],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`${fn}: ${name} must be a non-negative integer (got ${value})`);
    }
  }
  if (!Number.isInteger(indexBits) || indexBits < 1 || indexBits > 32) {
    throw new RangeError(`${fn}: indexBits must be an integer in 1..32 (got ${indexBits})`);
  }
  if (!Number.isInteger(residualBits) || residualBits < 0 || indexBits + residualBits > 32) {
    throw new RangeError(
      `${fn}: residualBits must be an integer ≥ 0 with indexBits + residualBits ≤ 32 (got indexBits = ${indexBits}, residualBits = ${residualBits})`,
    );
  }
  const totalBits = indexBits + residualBits;
  return { groupNum, vectorRows, groupSize, indexBits, residualBits, totalBits, rowWords: packedRowWords(groupSize, totalBits) };
}

function checkIndices(fn: string, name: string, values: Uint16Array | Uint32Array, count: number, bits: number): void {
  if (!(values instanceof Uint16Array || values instanceof Uint32Array)) {
    throw new TypeError(`${fn}: ${name} must be a Uint16Array or Uint32Array`);
  }
  if (values.length !== count) {
    throw new RangeError(`${fn}: ${name} must hold G·R·S = ${count} indices (got ${values.length})`);
  }
  const limit = 2 ** bits;
  for (let i = 0; i < values.length; i++) {
    if (values[i] >= limit) {
      throw new RangeError(`${fn}: ${name} indices must be below 2^${bits} = ${limit} (got ${values[i]} at ${i})`);
    }
  }
}
