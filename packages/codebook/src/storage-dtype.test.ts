import { describe, expect, it } from 'vitest';

import { roundToStorage } from './storage-dtype';

describe('roundToStorage', () => {
  it('rounds to the nearest f16 with ties to even, subnormals and overflow', () => {
    expect(roundToStorage(1 / 3, 'F16')).toBe(0.333251953125);
    expect(roundToStorage(-1 / 3, 'F16')).toBe(-0.333251953125);
    // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: even mantissa (1) wins; 1 + 3·2^-11 goes up to 1 + 2^-9.
    expect(roundToStorage(1 + 2 ** -11, 'F16')).toBe(1);
    expect(roundToStorage(1 + 3 * 2 ** -11, 'F16')).toBe(1 + 2 ** -9);
    expect(roundToStorage(65504, 'F16')).toBe(65504);
    expect(roundToStorage(65519, 'F16')).toBe(65504);
    expect(roundToStorage(65520, 'F16')).toBe(Infinity);
    expect(roundToStorage(2 ** -24, 'F16')).toBe(2 ** -24);
    expect(roundToStorage(3 * 2 ** -26, 'F16')).toBe(2 ** -24);
    expect(roundToStorage(2 ** -25, 'F16')).toBe(0);
    expect(roundToStorage(2 ** -14 + 2 ** -25, 'F16')).toBe(2 ** -14);
    expect(roundToStorage(0.1, 'F16')).toBe(0.0999755859375);
  });

  it('rounds to the nearest bf16 with ties to even', () => {
    expect(roundToStorage(1 / 3, 'BF16')).toBe(0.333984375);
    expect(roundToStorage(1 + 2 ** -8, 'BF16')).toBe(1);
    expect(roundToStorage(1 + 3 * 2 ** -8, 'BF16')).toBe(1 + 2 ** -6);
    expect(roundToStorage(3e38, 'BF16')).toBe((226 / 128) * 2 ** 127);
    expect(roundToStorage(3.4e38, 'BF16')).toBe(Infinity);
    expect(roundToStorage(Math.fround(2 ** -130), 'BF16')).toBe(2 ** -130);
  });

  it('leaves f32 values alone for F32', () => {
    expect(roundToStorage(Math.fround(1 / 3), 'F32')).toBe(Math.fround(1 / 3));
  });
});
