import { describe, expect, it } from 'vitest';

import { getVptqLayout } from './get-vptq-layout';

describe('getVptqLayout', () => {
  it('derives vector rows and padding when out is not a multiple of v', () => {
    const layout = getVptqLayout(10, 8, { vectorLength: 4, centroids: 8 });
    expect(layout).toMatchObject({ vectorRows: 3, padding: 2, groups: 1, groupSize: 8, outlierSize: 0, indexBits: 3 });
    expect(layout).toMatchObject({ residualCentroids: 0, outlierVectorLength: 0, outlierCentroids: 0, outlierPadding: 0 });
  });

  it('has no padding when v divides out', () => {
    expect(getVptqLayout(12, 8, { vectorLength: 4, centroids: 8 }).padding).toBe(0);
  });

  it('sizes the outlier part as get_group_setting: ceil(p/100·in) plus the remainder modulo G', () => {
    // ceil(5% of 100) = 5; (100 − 5) mod 4 = 3, so O = 8 and the 92 other columns form 4 groups of 23.
    const layout = getVptqLayout(16, 100, {
      vectorLength: 4,
      centroids: 16,
      residualCentroids: 4,
      outlierPercent: 5,
      outlierVectorLength: 2,
      outlierCentroids: 8,
      groups: 4,
    });
    expect(layout).toMatchObject({ outlierSize: 8, groupSize: 23, groups: 4, outlierVectorRows: 8, outlierPadding: 0, indexBits: 6 });
  });

  it('rounds fractional outlier sizes up without floating-point overshoot', () => {
    const options = { vectorLength: 2, centroids: 2, outlierVectorLength: 2, outlierCentroids: 2 };
    // 7 · 100 / 100 is exactly 7, where 7 / 100 · 100 would be 7.000000000000001 and round up to 8.
    expect(getVptqLayout(4, 100, { ...options, outlierPercent: 7 }).outlierSize).toBe(7);
    expect(getVptqLayout(4, 100, { ...options, outlierPercent: 0.5 }).outlierSize).toBe(1);
    expect(getVptqLayout(5, 64, { ...options, outlierPercent: 1 }).outlierPadding).toBe(1);
  });

  it('rejects invalid settings with the parameter and value in the message', () => {
    const base = { vectorLength: 4, centroids: 8 };
    expect(() => getVptqLayout(0, 8, base)).toThrow(/outFeatures must be an integer ≥ 1 \(got 0\)/);
    expect(() => getVptqLayout(8, 2.5, base)).toThrow(/inFeatures must be an integer ≥ 1 \(got 2.5\)/);
    expect(() => getVptqLayout(8, 8, { ...base, vectorLength: 9 })).toThrow(/vectorLength must be an integer between 1 and 8 \(got 9\)/);
    expect(() => getVptqLayout(8, 8, { ...base, centroids: 6 })).toThrow(/centroids must be a power of two .* \(got 6\)/);
    expect(() => getVptqLayout(8, 8, { ...base, centroids: 1 })).toThrow(RangeError);
    expect(() => getVptqLayout(8, 8, { ...base, residualCentroids: 3 })).toThrow(/residualCentroids .* \(got 3\)/);
    expect(() => getVptqLayout(8, 9, { ...base, groups: 2 })).toThrow(/groups must divide inFeatures .* \(got groups = 2, inFeatures = 9\)/);
    expect(() => getVptqLayout(8, 8, { ...base, groups: 0 })).toThrow(/groups must be an integer between 1 and 8 \(got 0\)/);
    expect(() => getVptqLayout(8, 8, { ...base, outlierPercent: 100 })).toThrow(/outlierPercent .* \(got 100\)/);
    expect(() => getVptqLayout(8, 8, { ...base, outlierPercent: -1 })).toThrow(/outlierPercent/);
    expect(() => getVptqLayout(8, 8, { ...base, outlierPercent: 10 })).toThrow(/outlierVectorLength must be .* \(got undefined\)/);
    expect(() => getVptqLayout(8, 8, { ...base, outlierPercent: 10, outlierVectorLength: 2 })).toThrow(/outlierCentroids/);
    expect(() =>
      getVptqLayout(8, 8, { ...base, outlierPercent: 10, outlierVectorLength: 2, outlierCentroids: 131072 }),
    ).toThrow(/outlierCentroids must be a power of two between 2 and 65536 \(got 131072\)/);
    // 95% of 8 columns leaves 0 columns for the single group.
    expect(() =>
      getVptqLayout(8, 8, { ...base, outlierPercent: 95, outlierVectorLength: 2, outlierCentroids: 2 }),
    ).toThrow(/leaves fewer columns than groups/);
    expect(() => getVptqLayout(8, 4, { vectorLength: 4, centroids: 16 })).toThrow(
      /centroids must not exceed the vectors of one group \(got 16, vectors = 8\)/,
    );
    expect(() => getVptqLayout(8, 4, { vectorLength: 4, centroids: 8, residualCentroids: 16 })).toThrow(
      /residualCentroids must not exceed/,
    );
    expect(() =>
      getVptqLayout(8, 16, { vectorLength: 4, centroids: 8, outlierPercent: 10, outlierVectorLength: 4, outlierCentroids: 8 }),
    ).toThrow(/outlierCentroids must not exceed the vectors of the outlier part \(got 8, vectors = 4\)/);
    expect(() => getVptqLayout(8, 8, null as never)).toThrow(TypeError);
  });

  it('rejects index fields wider than 32 bits', () => {
    // Both codebooks are limited by the group's vectors first unless the group is huge, so check the bit rule alone.
    expect(() => getVptqLayout(1 << 16, 1 << 16, { vectorLength: 1, centroids: 2 ** 31, residualCentroids: 4 })).toThrow(
      /at most 32 \(got 33/,
    );
  });
});
