import { describe, expect, it } from 'vitest';

import { hessianTileBytes, maxBlocksPerDispatch, planHessianAccumulator, planHessianInputs } from './plan-hessian-accumulator';
import type { HessianLimits } from './plan-hessian-accumulator';

// What Dawn reports on an H100 (docs/webgpu-dawn.md) and on lavapipe.
const h100: HessianLimits = {
  maxStorageBufferBindingSize: 2 ** 31 - 4,
  maxBufferSize: 2 ** 40,
  maxComputeWorkgroupsPerDimension: 65535,
  minStorageBufferOffsetAlignment: 16,
};
const lavapipe: HessianLimits = { ...h100, maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 32 - 1 };

describe('planHessianAccumulator', () => {
  it("holds Llama-3-8B's widest input (down_proj, n = 14336) in one window of 826 MB on an H100", () => {
    const plan = planHessianAccumulator('test', 14336, h100);
    expect(plan.tileColumns).toBe(224);
    expect(plan.windows).toEqual([{ tileRowStart: 0, tileRows: 224, firstTile: 0, tiles: 25200, byteLength: 25200 * hessianTileBytes }]);
    expect(plan.windows[0].byteLength).toBe(825_753_600);
  });

  it('splits by whole tile rows, later windows taking more of the shorter rows, and covers every tile once', () => {
    for (const [columns, limits] of [[14336, lavapipe], [30000, h100], [257, { ...h100, maxStorageBufferBindingSize: 5 * hessianTileBytes }]] as const) {
      const plan = planHessianAccumulator('test', columns, limits);
      const rows = plan.tileColumns;
      let tileRow = 0;
      let tile = 0;
      for (const window of plan.windows) {
        expect(window.tileRowStart).toBe(tileRow);
        expect(window.firstTile).toBe(tile);
        let tiles = 0;
        for (let row = window.tileRowStart; row < window.tileRowStart + window.tileRows; row++) tiles += rows - row;
        expect(window.tiles).toBe(tiles);
        expect(window.byteLength).toBe(tiles * hessianTileBytes);
        expect(window.byteLength).toBeLessThanOrEqual(limits.maxStorageBufferBindingSize);
        tileRow += window.tileRows;
        tile += tiles;
      }
      expect(tileRow).toBe(rows);
      expect(tile).toBe((rows * (rows + 1)) / 2);
    }
    // Lavapipe's 128 MiB bindings hold 4096 tiles: 19 rows of 224 … 206 tiles, then 21 rows of 205 … 185, …
    expect(planHessianAccumulator('test', 14336, lavapipe).windows.map((window) => window.tileRows)).toEqual([19, 21, 23, 27, 35, 58, 41]);
    expect(planHessianAccumulator('test', 257, { ...h100, maxStorageBufferBindingSize: 5 * hessianTileBytes }).windows.map((w) => w.tileRows)).toEqual([1, 1, 2, 1]);
  });

  it('names the limit when one tile row or one block of inputs does not fit a binding', () => {
    expect(() => planHessianAccumulator('f', 257, h100, 4 * hessianTileBytes)).toThrow(
      /f: columns = 257 needs 163840 bytes for one row of 64 × 64 tiles, above the binding limit of 131072 bytes \(maxStorageBufferBindingSize 2147483644, maxBufferSize 1099511627776\)/,
    );
    expect(() => planHessianAccumulator('f', 4097 * 64, lavapipe)).toThrow(/above the binding limit of 134217728 bytes/);
    expect(() => planHessianAccumulator('f', 640, { ...h100, maxComputeWorkgroupsPerDimension: 8 })).toThrow(
      /f: columns = 640 needs 10 workgroups per grid row, above the device's maxComputeWorkgroupsPerDimension of 8/,
    );
    expect(() => planHessianAccumulator('f', 0, h100)).toThrow(/f: columns must be an integer ≥ 1 \(got 0\)/);
  });
});

describe('planHessianInputs', () => {
  it('binds from the aligned offset below each range and points tokenOffset at its first token', () => {
    const columns = 7; // a block is 64 × 7 × 4 = 1792 bytes
    const ranges = planHessianInputs(4 * 7 * 3 + 40, 150, columns, { ...lavapipe, minStorageBufferOffsetAlignment: 256 });
    expect(ranges.map((range) => range.blocks)).toEqual([maxBlocksPerDispatch, maxBlocksPerDispatch, 150 - 2 * maxBlocksPerDispatch]);
    let start = 4 * 7 * 3 + 40;
    for (const range of ranges) {
      expect(range.byteOffset % 256).toBe(0);
      expect(range.byteOffset + range.tokenOffset * 4).toBe(start);
      expect(range.byteLength).toBe(range.tokenOffset * 4 + range.blocks * 1792);
      start += range.blocks * 1792;
    }
    expect(planHessianInputs(0, 0, columns, lavapipe)).toEqual([]);
  });

  it('keeps every binding within maxStorageBufferBindingSize, however wide the rows', () => {
    const columns = 14336; // a block is 3.5 MiB
    const limits = { ...h100, maxStorageBufferBindingSize: 10 * 2 ** 20 };
    const ranges = planHessianInputs(12, 7, columns, limits);
    expect(ranges.map((range) => range.blocks)).toEqual([2, 2, 2, 1]);
    for (const range of ranges) expect(range.byteLength).toBeLessThanOrEqual(limits.maxStorageBufferBindingSize);
  });
});
