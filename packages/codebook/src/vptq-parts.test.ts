import { describe, expect, it } from 'vitest';

import { getVptqLayerLayout } from '@vptq/pack-format';

import { planVptqLayer } from './plan-vptq-layer';
import { createIndexArray, listParts } from './vptq-parts';

describe('listParts', () => {
  it('puts the outlier part first (no residual), then G contiguous groups', () => {
    const layout = getVptqLayerLayout(planVptqLayer(10, 100, {
      vectorLength: 4,
      numCentroids: 8,
      numResidualCentroids: 4,
      outlierPercent: 5,
      outlierVectorLength: 2,
      numOutlierCentroids: 16,
      groupNum: 4,
    }));
    expect(listParts(layout)).toEqual([
      { start: 0, size: 8, vectorLength: 2, vectorRows: 5, numCentroids: 16, numResidualCentroids: 0 },
      { start: 8, size: 23, vectorLength: 4, vectorRows: 3, numCentroids: 8, numResidualCentroids: 4 },
      { start: 31, size: 23, vectorLength: 4, vectorRows: 3, numCentroids: 8, numResidualCentroids: 4 },
      { start: 54, size: 23, vectorLength: 4, vectorRows: 3, numCentroids: 8, numResidualCentroids: 4 },
      { start: 77, size: 23, vectorLength: 4, vectorRows: 3, numCentroids: 8, numResidualCentroids: 4 },
    ]);
  });

  it('has only groups without outliers', () => {
    const parts = listParts(getVptqLayerLayout(planVptqLayer(8, 12, { vectorLength: 8, numCentroids: 2, groupNum: 3 })));
    expect(parts.map((part) => [part.start, part.size])).toEqual([
      [0, 4],
      [4, 4],
      [8, 4],
    ]);
  });
});

describe('createIndexArray', () => {
  it('uses 16 bits up to 65536 entries and 32 bits above', () => {
    expect(createIndexArray(3, 65536)).toBeInstanceOf(Uint16Array);
    expect(createIndexArray(3, 131072)).toBeInstanceOf(Uint32Array);
    expect(createIndexArray(3, 2).length).toBe(3);
  });
});
