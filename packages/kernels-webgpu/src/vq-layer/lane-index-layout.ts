/**
 * Vector-rows per tile of the `lanes` index layout and of the lanes VQ-GEMV: lane `r mod 32` of a tile owns
 * vector-row r, and word w of the 32 rows of a tile lies in 32 consecutive u32 (one 128-byte line), so that the
 * lanes of a subgroup read their index words coalesced.
 */
export const vqLaneTileRows = 32;

/** How a resident layer's packed index words are ordered on the GPU; see `uploadVqLayers`. */
export type VqIndexLayout = 'rows' | 'lanes';

/**
 * Reorders packed index words `[G, R, rowWords]` (row-major, as stored) into the `lanes` layout of the lanes
 * VQ-GEMV: rows in tiles of 32, and word w of the 32 rows of a tile in 32 consecutive words, i.e. word w of
 * row r of group g at `((g · tiles + ⌊r / 32⌋) · rowWords + w) · 32 + r mod 32` with tiles = ⌈R / 32⌉. The
 * rows that pad the last tile are zero.
 *
 * @param words - `[groups, rows, rowWords]` u32.
 * @returns `[groups, tiles, rowWords, 32]` u32.
 */
export function toLaneIndexLayout(words: Uint32Array, groups: number, rows: number, rowWords: number): Uint32Array {
  if (words.length < groups * rows * rowWords) {
    throw new RangeError(`toLaneIndexLayout: words must hold groups × rows × rowWords = ${groups * rows * rowWords} words (got ${words.length})`);
  }
  const tile = vqLaneTileRows;
  const tiles = Math.ceil(rows / tile);
  const out = new Uint32Array(groups * tiles * rowWords * tile);
  for (let g = 0; g < groups; g++) {
    for (let r = 0; r < rows; r++) {
      const source = (g * rows + r) * rowWords;
      const target = (g * tiles + Math.floor(r / tile)) * rowWords * tile + (r % tile);
      for (let w = 0; w < rowWords; w++) out[target + w * tile] = words[source + w];
    }
  }
  return out;
}
