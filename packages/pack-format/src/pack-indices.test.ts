import { createTestRng } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { packIndices, packedRowWords, readField, unpackIndices } from './pack-indices';

function randomIndices(count: number, bits: number, seed: number): Uint32Array {
  const next = createTestRng(seed);
  // Force the extremes in, so all-ones fields and zero fields are both covered.
  return new Uint32Array(count).map((_, i) => (i === 0 ? 2 ** bits - 1 : i === 1 ? 0 : Math.floor(next() * 2 ** bits)));
}

describe('packIndices', () => {
  // Hand-computed from spec §5.3, independent of the packer: ib = 10, rb = 8 (tb = 18), S = 3, P = 2.
  // Fields: f0 = 1, f1 = 1023 | 255 << 10 = 0x3ffff, f2 = 0x2aa | 0x80 << 10 = 0x202aa.
  // Stream bits 0..17 = f0, 18..35 = f1 (its low 14 bits fill word 0 bits 18..31, its top 4 bits word 1
  // bits 0..3), 36..53 = f2 (word 1 bits 4..21). Row 1 starts on word 2 with f = 2, 0, 0x3ffff.
  it('matches bit patterns worked out by hand, with an 18-bit field straddling words', () => {
    const words = packIndices({
      main: new Uint16Array([1, 1023, 0x2aa, 2, 0, 1023]),
      residual: new Uint16Array([0, 255, 0x80, 0, 0, 255]),
      groupNum: 1,
      vectorRows: 2,
      groupSize: 3,
      indexBits: 10,
      residualBits: 8,
    });
    // Row 1: f0 = 2, f1 = 0, f2 = 0x3ffff at bits 36..53 → word 3 bits 4..21 = 0x3ffff << 4.
    expect(Array.from(words)).toEqual([0xfffc0001, 0x00202aaf, 0x00000002, 0x003ffff0]);
    expect(Array.from(new Uint8Array(words.buffer, 0, 8))).toEqual([0x01, 0x00, 0xfc, 0xff, 0xaf, 0x2a, 0x20, 0x00]);
  });

  it('packs 3-bit fields across a word boundary and 32-bit fields whole', () => {
    // Eleven 3-bit fields: field 10 occupies stream bits 30..32.
    const main = new Uint16Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0b111]);
    const words = packIndices({ main, groupNum: 1, vectorRows: 1, groupSize: 11, indexBits: 3, residualBits: 0 });
    expect(Array.from(words)).toEqual([0xc0000000, 0x00000001]);

    const full = packIndices({
      main: new Uint32Array([0xffff, 0x1234]),
      residual: new Uint32Array([0xffff, 0xabcd]),
      groupNum: 2,
      vectorRows: 1,
      groupSize: 1,
      indexBits: 16,
      residualBits: 16,
    });
    expect(Array.from(full)).toEqual([0xffffffff, 0xabcd1234]);
    expect(readField(full, 0, 0, 32)).toBe(4294967295);
    expect(unpackIndices(full, { groupNum: 2, vectorRows: 1, groupSize: 1, indexBits: 16, residualBits: 16 })).toEqual({
      main: new Uint16Array([0xffff, 0x1234]),
      residual: new Uint16Array([0xffff, 0xabcd]),
    });
  });

  it('round-trips every field width 1..32, with and without a residual split', () => {
    const groups = 2;
    const rows = 3;
    const columns = 37;
    const count = groups * rows * columns;
    for (let totalBits = 1; totalBits <= 32; totalBits++) {
      const splits = totalBits === 1 ? [[1, 0]] : [[totalBits, 0], [Math.ceil(totalBits / 2), Math.floor(totalBits / 2)], [1, totalBits - 1]];
      for (const [indexBits, residualBits] of splits) {
        const main = randomIndices(count, indexBits, totalBits * 100 + indexBits);
        const residual = residualBits > 0 ? randomIndices(count, residualBits, totalBits * 1000 + residualBits) : undefined;
        const layout = { groupNum: groups, vectorRows: rows, groupSize: columns, indexBits, residualBits };
        const words = packIndices({ ...layout, main, residual });
        const rowWords = packedRowWords(columns, totalBits);
        expect(words.length).toBe(groups * rows * rowWords);
        const unpacked = unpackIndices(words, layout);
        expect(unpacked.main).toBeInstanceOf(indexBits <= 16 ? Uint16Array : Uint32Array);
        expect(Array.from(unpacked.main)).toEqual(Array.from(main));
        expect(unpacked.residual === undefined ? undefined : Array.from(unpacked.residual)).toEqual(
          residual === undefined ? undefined : Array.from(residual),
        );
        // Every row's padding bits stay zero, so rows are independent.
        const usedBits = columns * totalBits;
        for (let row = 0; row < groups * rows; row++) {
          const last = words[row * rowWords + rowWords - 1];
          const usedInLast = usedBits - 32 * (rowWords - 1);
          if (usedInLast < 32) expect(last >>> usedInLast).toBe(0);
          for (let s = 0; s < columns; s++) {
            const i = row * columns + s;
            const field = main[i] + (residual === undefined ? 0 : residual[i] * 2 ** indexBits);
            expect(readField(words, row * rowWords, s, totalBits)).toBe(field);
          }
        }
      }
    }
  });

  it('validates its arguments', () => {
    const layout = { groupNum: 1, vectorRows: 1, groupSize: 2, indexBits: 4, residualBits: 0 };
    expect(() => packIndices({ ...layout, main: new Uint16Array(3) })).toThrow(/G·R·S = 2 indices \(got 3\)/);
    expect(() => packIndices({ ...layout, main: new Uint16Array([1, 16]) })).toThrow(/below 2\^4 = 16 \(got 16 at 1\)/);
    expect(() => packIndices({ ...layout, indexBits: 0, main: new Uint16Array(2) })).toThrow(/indexBits must be an integer in 1..32/);
    expect(() => packIndices({ ...layout, residualBits: 29, main: new Uint16Array(2), residual: new Uint16Array(2) })).toThrow(
      /indexBits \+ residualBits ≤ 32/,
    );
    expect(() => packIndices({ ...layout, residualBits: 2, main: new Uint16Array(2) })).toThrow(/residual is required/);
    expect(() => packIndices({ ...layout, main: new Uint16Array(2), residual: new Uint16Array(2) })).toThrow(/must be omitted/);
    expect(() => unpackIndices(new Uint32Array(2), layout)).toThrow(/must hold G·R·P = 1·1·1 = 1 values \(got 2\)/);
    expect(() => packedRowWords(3, 33)).toThrow(RangeError);
    expect(packedRowWords(4096, 24)).toBe(3072);
    expect(packedRowWords(0, 12)).toBe(0);
  });
});
