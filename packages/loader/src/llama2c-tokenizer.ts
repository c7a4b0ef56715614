import type { Tokenizer } from './model-types';
import { PairQueue } from './pair-queue';
import type { Llama2cVocab } from './parse-llama2c-vocab';

const bosId = 1;
const eosId = 2;
const unknownId = 0;
// run.c starts its search at `float best_score = -1e10`, so pieces scoring at or below it never merge.
const mergeFloor = Math.fround(-1e10);
const bytePiece = /^<0x([0-9A-F]{2})>$/;

/**
 * Builds the llama2.c `run.c` encoder/decoder over a parsed vocabulary. Pieces are looked up by exact string;
 * when a piece appears twice, the lower id wins.
 */
export function createLlama2cTokenizer(vocab: Llama2cVocab): Tokenizer {
  const { pieces, scores } = vocab;
  const vocabSize = pieces.length;
  const idOf = new Map<string, number>();
  pieces.forEach((piece, id) => {
    if (!idOf.has(piece)) idOf.set(piece, id);
  });

  // Byte fallback exists only when all 256 `<0xNN>` pieces do (tok512 yes, tok105 no).
  let byteIds: Int32Array | undefined = new Int32Array(256);
  for (let byte = 0; byte < 256 && byteIds; byte++) {
    const id = idOf.get(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);
    if (id === undefined) byteIds = undefined;
    else byteIds[byte] = id;
  }

  const utf8Encoder = new TextEncoder();
  const decodedBytes = pieces.map((piece) => {
    const match = bytePiece.exec(piece);
    return match ? Uint8Array.of(Number.parseInt(match[1], 16)) : utf8Encoder.encode(piece);
  });
  const startsWithSpace = pieces.map((piece) => piece.charCodeAt(0) === 0x20);
  const isControl = (id: number): boolean => id === bosId || id === eosId;

  function pushCharacter(tokens: number[], character: string): void {
    const id = idOf.get(character);
    if (id !== undefined) {
      tokens.push(id);
    } else if (byteIds) {
      for (const byte of utf8Encoder.encode(character)) tokens.push(byteIds[byte]);
    } else {
      tokens.push(unknownId);
    }
  }

  function mergePairs(initial: number[]): number[] {
    const count = initial.length;
    if (count < 2) return initial;
    const tokens = Int32Array.from(initial);
    const next = new Int32Array(count);
    const previous = new Int32Array(count);
    const versions = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      next[i] = i + 1 < count ? i + 1 : -1;
      previous[i] = i - 1;
    }
    const queue = new PairQueue();
    const consider = (left: number, right: number): void => {
      const id = idOf.get(pieces[tokens[left]] + pieces[tokens[right]]);
      if (id !== undefined && scores[id] > mergeFloor) {
        queue.push(scores[id], left, right, id, versions[left], versions[right]);
      }
    };
    for (let i = 0; i + 1 < count; i++) consider(i, i + 1);

    for (let entry = queue.pop(); entry !== -1; entry = queue.pop()) {
      const left = queue.left(entry);
      const right = queue.right(entry);
      // Any merge touching either node bumps its version, so an unchanged pair is still adjacent and current.
      if (versions[left] !== queue.leftVersion(entry) || versions[right] !== queue.rightVersion(entry)) continue;
      tokens[left] = queue.id(entry);
      versions[left]++;
      versions[right]++;
      const after = next[right];
      next[left] = after;
      if (after !== -1) previous[after] = left;
      if (previous[left] !== -1) consider(previous[left], left);
      if (after !== -1) consider(left, after);
    }

    const merged: number[] = [];
    for (let i = 0; i !== -1; i = next[i]) merged.push(tokens[i]);
    return merged;
  }

  function pieceBytes(previous: number, token: number): Uint8Array {
    const bytes = decodedBytes[token];
    // SentencePiece drops the dummy-prefix space of the first piece after BOS (llama2.c PR #89).
    return previous === bosId && startsWithSpace[token] ? bytes.subarray(1) : bytes;
  }

  function checkId(fn: string, name: string, id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new RangeError(`${fn}: ${name} must be an integer token id below ${vocabSize} (got ${id})`);
    }
  }

  const utf8Decoder = new TextDecoder('utf-8');

  return {
    vocabSize,
    bosId,
    eosId,
    encode(text: string, options: { readonly bos?: boolean; readonly eos?: boolean } = {}): number[] {
      if (typeof text !== 'string') throw new TypeError(`encode: text must be a string (got ${typeof text})`);
      const tokens: number[] = [];
      if (options.bos) tokens.push(bosId);
      if (text.length > 0) pushCharacter(tokens, ' ');
      for (const character of text) pushCharacter(tokens, character);
      const merged = mergePairs(tokens);
      if (options.eos) merged.push(eosId);
      return merged;
    },
    decode(ids: readonly number[]): string {
      const parts: Uint8Array[] = [];
      let total = 0;
      for (let i = 0; i < ids.length; i++) {
        checkId('decode', `ids[${i}]`, ids[i]);
        if (isControl(ids[i])) continue;
        const bytes = pieceBytes(i > 0 ? ids[i - 1] : -1, ids[i]);
        parts.push(bytes);
        total += bytes.length;
      }
      const joined = new Uint8Array(total);
      let offset = 0;
      for (const part of parts) {
        joined.set(part, offset);
        offset += part.length;
      }
      return utf8Decoder.decode(joined);
    },
    decodeToken(previous: number, token: number): string {
      checkId('decodeToken', 'token', token);
      if (isControl(token)) return '';
      return utf8Decoder.decode(pieceBytes(previous, token));
    },
  };
}
