type NumericArray = ArrayLike<number>;

/** Number of positions where two equally long arrays differ. */
export function countDifferences(a: NumericArray, b: NumericArray): number {
  if (a.length !== b.length) throw new RangeError(`countDifferences: lengths differ (got ${a.length} and ${b.length})`);
  let count = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) count++;
  return count;
}

/** Largest |a[i] - b[i]|. */
export function maxAbsDifference(a: NumericArray, b: NumericArray): number {
  if (a.length !== b.length) throw new RangeError(`maxAbsDifference: lengths differ (got ${a.length} and ${b.length})`);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= max)) max = d; // NaN propagates as the maximum
  }
  return max;
}

/** Largest |a[i] - b[i]| / max(|b[i]|, floor): a relative error that stays finite near zero. */
export function maxRelativeDifference(a: NumericArray, b: NumericArray, floor = 1e-6): number {
  if (a.length !== b.length) throw new RangeError(`maxRelativeDifference: lengths differ (got ${a.length} and ${b.length})`);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor);
    if (!(d <= max)) max = d;
  }
  return max;
}
