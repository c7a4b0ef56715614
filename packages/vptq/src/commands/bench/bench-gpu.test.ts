import { describe, expect, it } from 'vitest';

import { parseStreamPlan } from './bench-gpu';

describe('bench kernels --stream-plans', () => {
  it('reads r/s/w/u/t entries into VQ-GEMV options and names the row after them', () => {
    expect(parseStreamPlan('r1,s1,w128,u4')).toEqual({ name: 'vq-gemv-r1s1w128u4', options: { rowsPerWorkgroup: 1, splits: 1, workgroupSize: 128, unroll: 4 } });
    expect(parseStreamPlan('r2,s8')).toEqual({ name: 'vq-gemv-r2s8', options: { rowsPerWorkgroup: 2, splits: 8 } });
    expect(parseStreamPlan('t1024')).toEqual({ name: 'vq-gemv-t1024', options: { targetWorkgroups: 1024 } });
  });

  it('rejects unknown letters, repeats, zero, and more than two rows', () => {
    for (const bad of ['x1', 'r1,r2', 's0', 'r3', 'r2,', 'w-1', '']) expect(() => parseStreamPlan(bad)).toThrow(/--stream-plans/);
  });
});
