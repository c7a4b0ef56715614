import { describe, expect, it } from 'vitest';

import { parseLanesPlan, parseStreamPlan } from './bench-gpu';

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

describe('bench kernels --lanes-plans', () => {
  it('reads f/w/t entries into lanes VQ-GEMV options and names the row after them', () => {
    expect(parseLanesPlan('f32,w256')).toEqual({ name: 'vq-gemv-lanes-f32w256', options: { kernel: 'lanes', fieldsPerLane: 32, workgroupSize: 256 } });
    expect(parseLanesPlan('t512')).toEqual({ name: 'vq-gemv-lanes-t512', options: { kernel: 'lanes', targetWorkgroups: 512 } });
  });

  it('rejects unknown letters, repeats and zero', () => {
    for (const bad of ['r1', 'f8,f16', 'f0', 'f8,', '']) expect(() => parseLanesPlan(bad)).toThrow(/--lanes-plans/);
  });
});
