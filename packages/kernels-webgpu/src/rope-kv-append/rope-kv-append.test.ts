import { maxAbsDifference, randomFloats, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createBufferWithData, createUniformBuffer, readBuffer } from '../buffers';
import { submitDispatches } from '../dispatch';
import { ropeCpu, ropeInverseFrequencies } from '../rope/rope-cpu';
import { createRopeKvAppendDispatch } from './rope-kv-append';
import { ropeKvAppendCpu } from './rope-kv-append-cpu';
import type { RopeKvAppendShape } from './rope-kv-append-cpu';

const device = await requestTestDevice();

describe('ropeKvAppendCpu', () => {
  it('rotates q and k as ropeCpu does and writes k and v at the position, leaving other rows alone', () => {
    const shape = { tokens: 2, heads: 4, kvHeads: 2, headDim: 6, layout: 'half' as const };
    const kvWidth = 12;
    const inputs = {
      query: randomFloats(2 * 4 * 6, 1),
      keys: randomFloats(2 * kvWidth, 2),
      values: randomFloats(2 * kvWidth, 3),
      keyCache: randomFloats(7 * kvWidth, 4),
      valueCache: randomFloats(7 * kvWidth, 5),
    };
    const out = ropeKvAppendCpu(inputs, shape, 3);
    expect(out.query).toEqual(ropeCpu(inputs.query, { ...shape, heads: 4 }, 3));
    expect(out.keyCache.subarray(3 * kvWidth, 5 * kvWidth)).toEqual(ropeCpu(inputs.keys, { ...shape, heads: 2 }, 3));
    expect(out.valueCache.subarray(3 * kvWidth, 5 * kvWidth)).toEqual(inputs.values);
    expect(out.keyCache.subarray(0, 3 * kvWidth)).toEqual(inputs.keyCache.subarray(0, 3 * kvWidth));
    expect(out.valueCache.subarray(5 * kvWidth)).toEqual(inputs.valueCache.subarray(5 * kvWidth));
  });

  it('scales q, k and v by the inverse RMS of the stream row with shape.normalize', () => {
    // A stream row of 3s and 4s alternating has mean square 12.5: the inverse RMS is 1 / sqrt(12.5 + epsilon).
    const stream = new Float32Array([3, 4, 3, 4]);
    const shape = { tokens: 1, heads: 1, kvHeads: 1, headDim: 2, normalize: { hidden: 4, epsilon: 0.5 } };
    const inputs = { query: new Float32Array([1, 0]), keys: new Float32Array([2, 0]), values: new Float32Array([5, 6]), keyCache: new Float32Array(2), valueCache: new Float32Array(2), stream };
    const out = ropeKvAppendCpu(inputs, shape, 0);
    expect([...out.query]).toEqual([Math.fround(1 / Math.sqrt(13)), 0]);
    expect([...out.keyCache]).toEqual([Math.fround(2 / Math.sqrt(13)), 0]);
    expect([...out.valueCache]).toEqual([Math.fround(5 / Math.sqrt(13)), Math.fround(6 / Math.sqrt(13))]);
  });

  it('rejects an odd headDim and caches shorter than position + tokens', () => {
    const inputs = { query: new Float32Array(3), keys: new Float32Array(3), values: new Float32Array(3), keyCache: new Float32Array(3), valueCache: new Float32Array(3) };
    expect(() => ropeKvAppendCpu(inputs, { tokens: 1, heads: 1, kvHeads: 1, headDim: 3 }, 0)).toThrow(/shape\.headDim must be even \(got 3\)/);
    const even = { query: new Float32Array(2), keys: new Float32Array(2), values: new Float32Array(2), keyCache: new Float32Array(4), valueCache: new Float32Array(4) };
    expect(() => ropeKvAppendCpu(even, { tokens: 1, heads: 1, kvHeads: 1, headDim: 2 }, 2)).toThrow(/capacity ≥ 3 \(got 4 and 4 elements\)/);
  });
});

describe.skipIf(!device)('createRopeKvAppendDispatch', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  /** Runs the dispatch on random inputs at `position` and returns the GPU's and the CPU twin's results. */
  async function run(shape: RopeKvAppendShape, position: number, capacity: number, options: { readonly packed?: boolean; readonly seed: number }) {
    const { tokens, heads, kvHeads, headDim } = shape;
    const queryLength = tokens * heads * headDim;
    const kvLength = tokens * kvHeads * headDim;
    const hidden = shape.normalize?.hidden ?? 0;
    const inputs = {
      query: randomFloats(queryLength, options.seed, 2),
      keys: randomFloats(kvLength, options.seed + 1, 2),
      values: randomFloats(kvLength, options.seed + 2, 2),
      keyCache: randomFloats(capacity * kvHeads * headDim, options.seed + 3),
      valueCache: randomFloats(capacity * kvHeads * headDim, options.seed + 4),
      stream: shape.normalize ? randomFloats(tokens * hidden, options.seed + 5, 3) : undefined,
    };
    const owned: GPUBuffer[] = [];
    const keep = (buffer: GPUBuffer): GPUBuffer => {
      owned.push(buffer);
      return buffer;
    };
    // Decode keeps [q | k | v] of one token in one buffer; the dispatch must accept the three views of it.
    const packed = options.packed ? keep(createBufferWithData(gpu, 'qkv', Float32Array.from([...inputs.query, ...inputs.keys, ...inputs.values]))) : undefined;
    const view = (offset: number, length: number) => ({ buffer: packed as GPUBuffer, offset: offset * 4, size: length * 4 });
    const query = packed ? view(0, queryLength) : keep(createBufferWithData(gpu, 'query', inputs.query));
    const buffers = {
      query,
      keys: packed ? view(queryLength, kvLength) : keep(createBufferWithData(gpu, 'keys', inputs.keys)),
      values: packed ? view(queryLength + kvLength, kvLength) : keep(createBufferWithData(gpu, 'values', inputs.values)),
      keyCache: keep(createBufferWithData(gpu, 'key-cache', inputs.keyCache)),
      valueCache: keep(createBufferWithData(gpu, 'value-cache', inputs.valueCache)),
      position: keep(createUniformBuffer(gpu, 'position', new Uint32Array([position, 0, 0, 0]).buffer)),
      stream: inputs.stream ? keep(createBufferWithData(gpu, 'stream', inputs.stream)) : undefined,
    };
    const dispatch = await createRopeKvAppendDispatch(gpu, buffers, shape);
    try {
      submitDispatches(gpu, 'rope-kv-append-test', [dispatch]);
      const onGpu = {
        query: new Float32Array(await readBuffer(gpu, query, queryLength * 4)),
        keyCache: new Float32Array(await readBuffer(gpu, buffers.keyCache, inputs.keyCache.byteLength)),
        valueCache: new Float32Array(await readBuffer(gpu, buffers.valueCache, inputs.valueCache.byteLength)),
      };
      return { onGpu, onCpu: ropeKvAppendCpu(inputs, shape, position) };
    } finally {
      dispatch.destroy();
      for (const buffer of owned) buffer.destroy();
    }
  }

  const cases: { name: string; shape: RopeKvAppendShape; position: number; capacity: number; packed?: boolean }[] = [
    { name: 'one decoded token, interleaved, q|k|v in one buffer', shape: { tokens: 1, heads: 4, kvHeads: 4, headDim: 64, theta: 10000 }, position: 37, capacity: 40, packed: true },
    { name: 'GQA prefill, rotate-half, headDim 80', shape: { tokens: 3, heads: 8, kvHeads: 2, headDim: 80, layout: 'half', theta: 500000 }, position: 4000, capacity: 4004 },
    { name: 'headDim 6 (3 pairs), 3 heads over 1 KV head', shape: { tokens: 5, heads: 3, kvHeads: 1, headDim: 6 }, position: 2, capacity: 9 },
    {
      name: 'scaled frequencies and the inverse-RMS normalization (GQA, two tokens)',
      shape: {
        tokens: 2,
        heads: 6,
        kvHeads: 2,
        headDim: 32,
        layout: 'half',
        inverseFrequencies: ropeInverseFrequencies(32, 500000).map((value, i) => (i >= 8 ? value / 32 : value)),
        normalize: { hidden: 300, epsilon: 1e-5 },
      },
      position: 1000,
      capacity: 1002,
    },
    { name: 'normalization with q|k|v in one buffer (decode of a folded dense model)', shape: { tokens: 1, heads: 4, kvHeads: 4, headDim: 16, normalize: { hidden: 96, epsilon: 1e-6 } }, position: 0, capacity: 3, packed: true },
  ];
  for (const { name, shape, position, capacity, packed } of cases) {
    it(`agrees with the CPU twin: ${name}`, async () => {
      const { onGpu, onCpu } = await run(shape, position, capacity, { packed, seed: 11 });
      // Angles up to 4000 rad: the reduced-angle sin/cos of f32 agree to ~1e-5 of the f64 ones.
      expect(maxAbsDifference(onGpu.query, onCpu.query)).toBeLessThan(3e-5);
      expect(maxAbsDifference(onGpu.keyCache, onCpu.keyCache)).toBeLessThan(3e-5);
      expect(maxAbsDifference(onGpu.valueCache, onCpu.valueCache)).toBeLessThan(1e-6);
    });
  }

  it('reads the position from the shared uniform at submit time', async () => {
    const shape = { tokens: 1, heads: 2, kvHeads: 1, headDim: 4 };
    const buffers = {
      query: createBufferWithData(gpu, 'query', randomFloats(8, 21)),
      keys: createBufferWithData(gpu, 'keys', randomFloats(4, 22)),
      values: createBufferWithData(gpu, 'values', new Float32Array([1, 2, 3, 4])),
      keyCache: createBufferWithData(gpu, 'key-cache', new Float32Array(5 * 4)),
      valueCache: createBufferWithData(gpu, 'value-cache', new Float32Array(5 * 4)),
      position: createUniformBuffer(gpu, 'position', new Uint32Array([1, 0, 0, 0]).buffer),
    };
    const dispatch = await createRopeKvAppendDispatch(gpu, buffers, shape);
    try {
      submitDispatches(gpu, 'rope-kv-append-test', [dispatch]);
      gpu.queue.writeBuffer(buffers.position, 0, new Uint32Array([4, 0, 0, 0]));
      submitDispatches(gpu, 'rope-kv-append-test', [dispatch]);
      const values = new Float32Array(await readBuffer(gpu, buffers.valueCache));
      expect([...values]).toEqual([0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    } finally {
      dispatch.destroy();
      for (const buffer of Object.values(buffers)) buffer.destroy();
    }
  });

  it('rejects normalization without a stream', async () => {
    const placeholder = createBufferWithData(gpu, 'placeholder', new Float32Array(4));
    const buffers = { query: placeholder, keys: placeholder, values: placeholder, keyCache: placeholder, valueCache: placeholder, position: placeholder };
    await expect(createRopeKvAppendDispatch(gpu, buffers, { tokens: 1, heads: 1, kvHeads: 1, headDim: 2, normalize: { hidden: 4, epsilon: 0 } })).rejects.toThrow(
      'createRopeKvAppendDispatch: shape.normalize needs buffers.stream',
    );
    placeholder.destroy();
  });
});
