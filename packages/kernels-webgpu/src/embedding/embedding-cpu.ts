import { assertCount } from '../validate';

/**
 * CPU twin of the embedding kernel: rows `tokens[i]` of a `[vocabulary, cols]` f32 table; ids ≥ vocabulary
 * give zero rows.
 *
 * @param table - `[vocabulary, cols]` f32.
 * @param tokens - `[count]` token ids.
 * @returns `[count, cols]` f32.
 * @throws {RangeError} when the table length is not a multiple of cols.
 */
export function embeddingCpu(table: Float32Array, tokens: Uint32Array, cols: number): Float32Array {
  assertCount('embeddingCpu', 'cols', cols);
  if (table.length % cols !== 0) {
    throw new RangeError(`embeddingCpu: table length must be a multiple of cols (got ${table.length} and ${cols})`);
  }
  const vocabulary = table.length / cols;
  const output = new Float32Array(tokens.length * cols);
  tokens.forEach((token, i) => {
    if (token < vocabulary) output.set(table.subarray(token * cols, (token + 1) * cols), i * cols);
  });
  return output;
}
