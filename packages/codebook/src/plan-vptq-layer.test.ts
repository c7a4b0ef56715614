import { describe, expect, it } from 'vitest';

import { getVptqLayerLayout } from '@vptq/pack-format';

import { planVptqLayer } from './plan-vptq-layer';

describe('planVptqLayer', () => {
  it('gives the complete layer config, absent parts 0, norm on and perm off until the Hessian decides', () => {
    expect(planVptqLayer(10, 8, { vectorLength: 4, numCentroids: 8 })).toEqual({
      inFeatures: 8,
      outFeatures: 10,
      vectorLength: 4,
      numCentroids: 8,
      numResidualCentroids: 0,
      outlierVectorLength: 0,
      numOutlierCentroids: 0,
      groupNum: 1,
      groupSize: 8,
      outlierSize: 0,
      enableNorm: true,
      enablePerm: false,
      indicesAsFloat: false,
      bias: false,
    });
    expect(planVptqLayer(10, 8, { vectorLength: 4, numCentroids: 8, enableNorm: false }).enableNorm).toBe(false);
    // The plan is a valid packed-format config: its layout has the padding rows of out = 10 with v = 4.
    expect(getVptqLayerLayout(planVptqLayer(10, 8, { vectorLength: 4, numCentroids: 8 }))).toMatchObject({ vectorRows: 3, paddingRows: 2, totalBits: 3 });
    expect(getVptqLayerLayout(planVptqLayer(12, 8, { vectorLength: 4, numCentroids: 8 })).paddingRows).toBe(0);
  });

  it('sizes the outlier part as get_group_setting: ceil(p/100·in) plus the remainder modulo G', () => {
    // ceil(5% of 100) = 5; (100 − 5) mod 4 = 3, so O = 8 and the 92 other columns form 4 groups of 23.
    const layout = planVptqLayer(16, 100, {
      vectorLength: 4,
      numCentroids: 16,
      numResidualCentroids: 4,
      outlierPercent: 5,
      outlierVectorLength: 2,
      numOutlierCentroids: 8,
      groupNum: 4,
    });
    expect(layout).toMatchObject({ outlierSize: 8, groupSize: 23, groupNum: 4 });
    expect(getVptqLayerLayout(layout)).toMatchObject({ outlierVectorRows: 8, outlierPaddingRows: 0, totalBits: 6 });
  });

  it('rounds fractional outlier sizes up without floating-point overshoot', () => {
    const options = { vectorLength: 2, numCentroids: 2, outlierVectorLength: 2, numOutlierCentroids: 2 };
    // 7 · 100 / 100 is exactly 7, where 7 / 100 · 100 would be 7.000000000000001 and round up to 8.
    expect(planVptqLayer(4, 100, { ...options, outlierPercent: 7 }).outlierSize).toBe(7);
    expect(planVptqLayer(4, 100, { ...options, outlierPercent: 0.5 }).outlierSize).toBe(1);
    expect(getVptqLayerLayout(planVptqLayer(5, 64, { ...options, outlierPercent: 1 })).outlierPaddingRows).toBe(1);
  });

  it('rejects invalid settings with the parameter and value in the message', () => {
    const base = { vectorLength: 4, numCentroids: 8 };
    expect(() => planVptqLayer(0, 8, base)).toThrow(/outFeatures must be an integer ≥ 1 \(got 0\)/);
    expect(() => planVptqLayer(8, 2.5, base)).toThrow(/inFeatures must be an integer ≥ 1 \(got 2.5\)/);
    expect(() => planVptqLayer(8, 8, { ...base, vectorLength: 9 })).toThrow(/vectorLength must be an integer between 1 and 8 \(got 9\)/);
    expect(() => planVptqLayer(8, 8, { ...base, numCentroids: 6 })).toThrow(/numCentroids must be a power of two .* \(got 6\)/);
    expect(() => planVptqLayer(8, 8, { ...base, numCentroids: 1 })).toThrow(RangeError);
    expect(() => planVptqLayer(8, 8, { ...base, numResidualCentroids: 3 })).toThrow(/numResidualCentroids .* \(got 3\)/);
    expect(() => planVptqLayer(8, 9, { ...base, groupNum: 2 })).toThrow(/groupNum must divide inFeatures .* \(got groupNum = 2, inFeatures = 9\)/);
    expect(() => planVptqLayer(8, 8, { ...base, groupNum: 0 })).toThrow(/groupNum must be an integer between 1 and 8 \(got 0\)/);
    expect(() => planVptqLayer(8, 8, { ...base, outlierPercent: 100 })).toThrow(/outlierPercent .* \(got 100\)/);
    expect(() => planVptqLayer(8, 8, { ...base, outlierPercent: -1 })).toThrow(/outlierPercent/);
    expect(() => planVptqLayer(8, 8, { ...base, outlierPercent: 10 })).toThrow(/outlierVectorLength must be .* \(got undefined\)/);
    expect(() => planVptqLayer(8, 8, { ...base, outlierPercent: 10, outlierVectorLength: 2 })).toThrow(/numOutlierCentroids/);
    // The format reads vo = 1 as "no outlier part", so it cannot be planned.
    expect(() => planVptqLayer(8, 8, { ...base, outlierPercent: 10, outlierVectorLength: 1, numOutlierCentroids: 2 })).toThrow(
      /outlierVectorLength must be an integer between 2 and 8 \(got 1\)/,
    );
    expect(() => planVptqLayer(8, 8, { ...base, enableNorm: 'yes' as never })).toThrow(/enableNorm must be a boolean/);
    expect(() =>
      planVptqLayer(8, 8, { ...base, outlierPercent: 10, outlierVectorLength: 2, numOutlierCentroids: 131072 }),
    ).toThrow(/numOutlierCentroids must be a power of two between 2 and 65536 \(got 131072\)/);
    // 95% of 8 columns leaves 0 columns for the single group.
    expect(() =>
      planVptqLayer(8, 8, { ...base, outlierPercent: 95, outlierVectorLength: 2, numOutlierCentroids: 2 }),
    ).toThrow(/leaves fewer columns than groupNum/);
    expect(() => planVptqLayer(8, 4, { vectorLength: 4, numCentroids: 16 })).toThrow(
      /numCentroids must not exceed the vectors of one group \(got 16, vectors = 8\)/,
    );
    expect(() => planVptqLayer(8, 4, { vectorLength: 4, numCentroids: 8, numResidualCentroids: 16 })).toThrow(
      /numResidualCentroids must not exceed/,
    );
    expect(() =>
      planVptqLayer(8, 16, { vectorLength: 4, numCentroids: 8, outlierPercent: 10, outlierVectorLength: 4, numOutlierCentroids: 8 }),
    ).toThrow(/numOutlierCentroids must not exceed the vectors of the outlier part \(got 8, vectors = 4\)/);
    expect(() => planVptqLayer(8, 8, null as never)).toThrow(TypeError);
  });

  it('rejects index fields wider than 32 bits', () => {
    // Both codebooks are limited by the group's vectors first unless the group is huge, so check the bit rule alone.
    expect(() => planVptqLayer(1 << 16, 1 << 16, { vectorLength: 1, numCentroids: 2 ** 31, numResidualCentroids: 4 })).toThrow(
      /at most 32 \(got 33/,
    );
  });
});
