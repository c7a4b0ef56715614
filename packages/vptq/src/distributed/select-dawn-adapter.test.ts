import { describe, expect, it } from 'vitest';

import { adapterFlagFor, parseDawnAdapterList } from './select-dawn-adapter';

// The shape of dawn.node's rejection for an adapter= flag that matches nothing (src/dawn/node/binding/GPU.cpp).
const listing = `no adapter  with name '\u0001 no adapter has this name' found
Available adapters:
 * backend: 'vulkan', name: 'NVIDIA H100 80GB HBM3'
 * backend: 'vulkan', name: 'NVIDIA H100 80GB HBM3'
 * backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)'`;

describe('Dawn adapter selection', () => {
  it('reads the adapters dawn.node lists, in order', () => {
    expect(parseDawnAdapterList(listing)).toEqual([
      { backend: 'vulkan', name: 'NVIDIA H100 80GB HBM3' },
      { backend: 'vulkan', name: 'NVIDIA H100 80GB HBM3' },
      { backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)' },
    ]);
    expect(parseDawnAdapterList('some other error')).toEqual([]);
  });

  it('selects an adapter whose name no earlier adapter shares', () => {
    const adapters = parseDawnAdapterList(listing);
    expect(adapterFlagFor(0, adapters)).toBe('adapter=NVIDIA H100 80GB HBM3');
    expect(adapterFlagFor(2, adapters)).toBe('adapter=llvmpipe (LLVM 15.0.6, 256 bits)');
  });

  it('refuses the second of two identical GPUs, saying how to isolate one per worker', () => {
    expect(() => adapterFlagFor(1, parseDawnAdapterList(listing))).toThrow(
      /gpu:1: adapter 1 is named "NVIDIA H100 80GB HBM3" like adapter 0, and dawn.node selects adapters by name only.*NVIDIA_VISIBLE_DEVICES=N/,
    );
  });

  it('refuses an index out of range, listing the adapters', () => {
    expect(() => adapterFlagFor(3, parseDawnAdapterList(listing))).toThrow(/gpu:3: Dawn lists 3 adapters \(0: NVIDIA H100 80GB HBM3 \(vulkan\); 1: /);
    expect(() => adapterFlagFor(0, [])).toThrow('gpu:0: Dawn lists 0 adapters (none)');
  });
});
