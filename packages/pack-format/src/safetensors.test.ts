import { createTestRng } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { createByteSource } from './byte-source';
import { decodeTensorF32 } from './decode-tensor-f32';
import { decodeTensorIntegers, decodeTensorUint16, decodeTensorUint32 } from './decode-tensor-integers';
import { encodeSafetensors, type SafetensorsTensorInput } from './encode-safetensors';
import { f32ToF16Bits } from './f16-bits';
import { PackFormatError } from './pack-format-error';
import { parseSafetensorsHeader } from './parse-safetensors-header';
import { readSafetensorsTensor } from './read-safetensors-tensor';
import { safetensorsDtypeByteSize } from './safetensors-dtype';

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** A file from a literal JSON header (unpadded) and a data region. */
function rawFile(header: string, data: Uint8Array | number = 0): Uint8Array {
  const json = new TextEncoder().encode(header);
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.byteLength + body.byteLength);
  new DataView(out.buffer).setUint32(0, json.byteLength, true);
  out.set(json, 8);
  out.set(body, 8 + json.byteLength);
  return out;
}

function parseError(bytes: Uint8Array): PackFormatError {
  try {
    parseSafetensorsHeader(createByteSource(bytes), 'test.safetensors');
  } catch (error) {
    expect(error).toBeInstanceOf(PackFormatError);
    return error as PackFormatError;
  }
  throw new Error('expected parseSafetensorsHeader to throw');
}

const f32Bytes = (values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);

describe('encodeSafetensors', () => {
  // Byte vectors from the reference implementation's own tests (safetensors/src/tensor.rs).
  it('matches the reference serialization byte for byte', () => {
    const data = f32Bytes([0, 1, 2, 3, 4, 5]);
    const out = concat(encodeSafetensors([{ name: 'attn.0', dtype: 'F32', shape: [1, 2, 3], data }]));
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(Array.from(out.subarray(0, 8))).toEqual([64, 0, 0, 0, 0, 0, 0, 0]);
    expect(new TextDecoder().decode(out.subarray(8, 8 + 64))).toBe(header);
    expect(Array.from(out.subarray(72))).toEqual([0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64]);

    const aligned = concat(encodeSafetensors([{ name: 'attn0', dtype: 'F32', shape: [1, 1, 2, 3], data }]));
    expect(aligned[0]).toBe(72);
    expect(new TextDecoder().decode(aligned.subarray(8, 80))).toBe(
      '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ',
    );
  });

  it('writes an empty file and metadata exactly like the reference', () => {
    expect(Array.from(concat(encodeSafetensors([])))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    const withMetadata = concat(encodeSafetensors([], { framework: 'pt' }));
    expect(withMetadata[0]).toBe(40);
    expect(new TextDecoder().decode(withMetadata.subarray(8))).toBe('{"__metadata__":{"framework":"pt"}}     ');
  });

  it('orders tensors by descending dtype alignment, then by code point, so each is aligned', () => {
    const tensors: SafetensorsTensorInput[] = [
      { name: 'b', dtype: 'I16', shape: [3], data: new Int16Array([1, -2, 3]) },
      { name: '10', dtype: 'U8', shape: [1], data: new Uint8Array([7]) },
      { name: '2', dtype: 'U8', shape: [1], data: new Uint8Array([8]) },
      { name: 'a', dtype: 'F32', shape: [2], data: new Float32Array([1.5, -2]) },
      { name: 'c', dtype: 'I64', shape: [1], data: new BigInt64Array([-5n]) },
      { name: 'a16', dtype: 'F16', shape: [1], data: new Uint16Array([0x3c00]) },
    ];
    const file = concat(encodeSafetensors(tensors, { format: 'pt', a: 'b' }));
    const header = parseSafetensorsHeader(createByteSource(file), 'ordered');
    expect(header.tensors.map((tensor) => tensor.name)).toEqual(['c', 'a', 'a16', 'b', '10', '2']);
    expect(header.metadata).toEqual({ a: 'b', format: 'pt' });
    for (const tensor of header.tensors) expect(tensor.byteOffset % safetensorsDtypeByteSize(tensor.dtype)).toBe(0);
    const json = new TextDecoder().decode(file.subarray(8, header.dataOffset));
    expect(json.indexOf('"__metadata__"')).toBe(1);
    expect(json.indexOf('"10"')).toBeLessThan(json.indexOf('"2"'));
    const source = createByteSource(file);
    const read = (name: string): Uint8Array => readSafetensorsTensor(source, header.byName.get(name)!, 'ordered');
    expect(Array.from(decodeTensorF32(read('a'), 'F32', 'a'))).toEqual([1.5, -2]);
    expect(Array.from(decodeTensorF32(read('a16'), 'F16', 'a16'))).toEqual([1]);
    expect(Array.from(decodeTensorIntegers(read('b'), 'I16', 'b'))).toEqual([1, -2, 3]);
    expect(Array.from(decodeTensorUint16(read('b'), 'I16', 'b'))).toEqual([1, 65534, 3]);
    expect(Array.from(decodeTensorIntegers(read('c'), 'I64', 'c'))).toEqual([-5]);
    expect(Array.from(read('10'))).toEqual([7]);
  });

  it('is deterministic regardless of input order', () => {
    const tensors: SafetensorsTensorInput[] = [
      { name: 'x', dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
      { name: 'w', dtype: 'F32', shape: [0], data: new Float32Array(0) },
      { name: 'y', dtype: 'BF16', shape: [], data: new Uint16Array([0x3f80]) },
    ];
    const forward = concat(encodeSafetensors(tensors, { b: '1', a: '2' }));
    const backward = concat(encodeSafetensors([...tensors].reverse(), { a: '2', b: '1' }));
    expect(backward).toEqual(forward);
    const header = parseSafetensorsHeader(createByteSource(forward), 'f');
    expect(header.byName.get('w')).toMatchObject({ shape: [0], byteLength: 0 });
    expect(header.byName.get('y')).toMatchObject({ shape: [], byteLength: 2 });
  });

  it('rejects bad arguments with named messages', () => {
    const ok = { name: 't', dtype: 'F32' as const, shape: [2], data: new Float32Array(2) };
    expect(() => encodeSafetensors([ok, ok])).toThrow(/unique \(got "t" twice\)/);
    expect(() => encodeSafetensors([{ ...ok, shape: [3] }])).toThrow(/must hold 12 bytes for F32 \[3\] \(got 8\)/);
    expect(() => encodeSafetensors([{ ...ok, shape: [-2] }])).toThrow(RangeError);
    expect(() => encodeSafetensors([{ ...ok, dtype: 'F99' as never }])).toThrow(TypeError);
    expect(() => encodeSafetensors([{ ...ok, name: '__metadata__' }])).toThrow(/__metadata__/);
    expect(() => encodeSafetensors([ok], { version: 2 as never })).toThrow(/metadata\["version"\] must be a string/);
  });
});

describe('parseSafetensorsHeader', () => {
  it('locates tensors with absolute offsets and accepts unknown entry keys and null metadata', () => {
    const file = rawFile(
      '{"__metadata__":null,"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6],"extra":1},"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}  ',
      6,
    );
    const header = parseSafetensorsHeader(createByteSource(file), 'x');
    const headerLength = file.byteLength - 8 - 6;
    expect(header.dataOffset).toBe(8 + headerLength);
    expect(header.metadata).toEqual({});
    expect(header.tensors).toEqual([
      { name: 'a', dtype: 'I32', shape: [1], byteOffset: 8 + headerLength, byteLength: 4 },
      { name: 'b', dtype: 'U8', shape: [2], byteOffset: 8 + headerLength + 4, byteLength: 2 },
    ]);
  });

  it.each([
    ['a file shorter than 8 bytes', new Uint8Array(5), 'VPTQ_PACK_SAFETENSORS_TRUNCATED', /too short/],
    ['a header length above 100 MB', (() => {
      const bytes = rawFile('{}');
      new DataView(bytes.buffer).setUint32(0, 100_000_001, true);
      return bytes;
    })(), 'VPTQ_PACK_SAFETENSORS_HEADER', /above the 100 MB limit/],
    ['a header length with the high word set', (() => {
      const bytes = rawFile('{}');
      new DataView(bytes.buffer).setUint32(4, 1, true);
      return bytes;
    })(), 'VPTQ_PACK_SAFETENSORS_HEADER', /above the 100 MB limit/],
    ['a header length of 1', (() => {
      const bytes = rawFile('{}');
      bytes[0] = 1;
      return bytes;
    })(), 'VPTQ_PACK_SAFETENSORS_HEADER', /too small/],
    ['a header running past the file', (() => {
      const bytes = rawFile('{}');
      bytes[0] = 3;
      return bytes;
    })(), 'VPTQ_PACK_SAFETENSORS_TRUNCATED', /runs past the end/],
    ['invalid UTF-8', rawFile('{"\u00e9":1}').map((byte, i) => (i === 10 ? 0xff : byte)), 'VPTQ_PACK_SAFETENSORS_HEADER', /UTF-8/],
    ['a header not starting with {', rawFile(' {}'), 'VPTQ_PACK_SAFETENSORS_HEADER', /start with/],
    ['invalid JSON', rawFile('{"a":'), 'VPTQ_PACK_SAFETENSORS_HEADER', /not valid JSON/],
    ['a non-string metadata value', rawFile('{"__metadata__":{"k":1}}'), 'VPTQ_PACK_SAFETENSORS_HEADER', /__metadata__\["k"\] must be a string/],
    ['an unknown dtype', rawFile('{"t":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}}', 4), 'VPTQ_PACK_SAFETENSORS_TENSOR', /tensor "t": unknown dtype "F99"/],
    ['a lower-case dtype', rawFile('{"t":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}', 4), 'VPTQ_PACK_SAFETENSORS_TENSOR', /unknown dtype/],
    ['a negative dimension', rawFile('{"t":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}'), 'VPTQ_PACK_SAFETENSORS_TENSOR', /non-negative integers/],
    ['a fractional dimension', rawFile('{"t":{"dtype":"U8","shape":[1.5],"data_offsets":[0,0]}}'), 'VPTQ_PACK_SAFETENSORS_TENSOR', /non-negative integers/],
    ['a missing data_offsets', rawFile('{"t":{"dtype":"U8","shape":[1]}}', 1), 'VPTQ_PACK_SAFETENSORS_TENSOR', /data_offsets must be two/],
    ['offsets ending before they begin', rawFile('{"t":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}}', 2), 'VPTQ_PACK_SAFETENSORS_TENSOR', /end before they begin/],
    ['a size that disagrees with the shape', rawFile('{"t":{"dtype":"F16","shape":[2,2],"data_offsets":[0,6]}}', 6), 'VPTQ_PACK_SAFETENSORS_TENSOR', /hold 6 bytes but F16 \[2, 2\] needs 8/],
    ['overlapping tensors', rawFile('{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}', 4), 'VPTQ_PACK_SAFETENSORS_TENSOR', /tensor "b".*overlaps/],
    ['a gap between tensors', rawFile('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}}', 5), 'VPTQ_PACK_SAFETENSORS_TENSOR', /tensor "b".*gap/],
    ['a tensor past the end of the file', rawFile('{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}', 4), 'VPTQ_PACK_SAFETENSORS_TRUNCATED', /tensor "a".*run past the end/],
    ['trailing bytes after the last tensor', rawFile('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', 3), 'VPTQ_PACK_SAFETENSORS_HEADER', /cover 2 bytes but the data region holds 3/],
    ['an array header', rawFile('{}').map((byte, i) => (i === 8 ? 0x5b : i === 9 ? 0x5d : byte)), 'VPTQ_PACK_SAFETENSORS_HEADER', /start with/],
  ])('rejects %s', (_, bytes, code, message) => {
    const error = parseError(bytes as Uint8Array);
    expect(error.code).toBe(code);
    expect(error.label).toBe('test.safetensors');
    expect(error.message).toMatch(/^test\.safetensors: /);
    expect(error.message).toMatch(message as RegExp);
    if (/tensor "/.test(error.message)) expect(error.tensor).toBeDefined();
  });

  it('reports a source that returns fewer bytes than asked for', () => {
    const file = concat(encodeSafetensors([{ name: 't', dtype: 'F32', shape: [4], data: new Float32Array(4) }]));
    const inner = createByteSource(file);
    const short = { byteLength: file.byteLength, read: (offset: number, length: number) => inner.read(offset, length).subarray(0, Math.min(length, 9)) };
    const header = parseSafetensorsHeader(createByteSource(file), 'f');
    expect(() => readSafetensorsTensor(short, header.tensors[0], 'f')).toThrow(
      expect.objectContaining({ code: 'VPTQ_PACK_SAFETENSORS_TRUNCATED', tensor: 't', label: 'f' }),
    );
    expect(() => parseSafetensorsHeader(short, 'f')).toThrow(expect.objectContaining({ code: 'VPTQ_PACK_SAFETENSORS_TRUNCATED' }));
    expect(() => inner.read(-1, 4)).toThrow(RangeError);
    expect(() => createByteSource([1, 2] as never)).toThrow(/bytes must be a Uint8Array \(got Array\)/);
  });

  it('names the fix when given a source that reads asynchronously', () => {
    const file = concat(encodeSafetensors([{ name: 't', dtype: 'F32', shape: [4], data: new Float32Array(4) }]));
    const inner = createByteSource(file);
    const remote = { byteLength: file.byteLength, read: async (offset: number, length: number) => inner.read(offset, length) };
    expect(() => parseSafetensorsHeader(remote as never, 'remote.safetensors')).toThrow(
      /remote\.safetensors: ByteSource\.read returned a Promise; this reader needs a synchronous source/,
    );
  });

  it('survives hundreds of seeded mutations of valid files with success or PackFormatError only', () => {
    const next = createTestRng(2024);
    const randomInt = (limit: number): number => Math.floor(next() * limit);
    const dtypes = ['F32', 'F16', 'BF16', 'I32', 'I16', 'U8', 'I64', 'F64', 'BOOL'] as const;
    const sizes = { F32: 4, F16: 2, BF16: 2, I32: 4, I16: 2, U8: 1, I64: 8, F64: 8, BOOL: 1 };
    const outcomes = { parsed: 0, rejected: 0 };
    for (let trial = 0; trial < 600; trial++) {
      const count = 1 + randomInt(4);
      const tensors: SafetensorsTensorInput[] = Array.from({ length: count }, (_, i) => {
        const dtype = dtypes[randomInt(dtypes.length)];
        const shape = Array.from({ length: randomInt(3) }, () => randomInt(4));
        const elements = shape.reduce((a, b) => a * b, 1);
        const data = new Uint8Array(elements * sizes[dtype]).map(() => randomInt(256));
        return { name: `layer.${i}.${'w'.repeat(randomInt(3))}`, dtype, shape, data };
      });
      const file = concat(encodeSafetensors(tensors, trial % 3 === 0 ? { format: 'pt' } : undefined));
      const jsonEnd = 8 + new DataView(file.buffer).getUint32(0, true);
      const mutated = mutate(file, jsonEnd, trial, randomInt);
      try {
        const header = parseSafetensorsHeader(createByteSource(mutated), `fuzz-${trial}`);
        const source = createByteSource(mutated);
        for (const info of header.tensors) {
          const bytes = readSafetensorsTensor(source, info);
          expect(bytes.byteLength).toBe(info.byteLength);
          if (info.dtype === 'F32' || info.dtype === 'F16' || info.dtype === 'BF16') {
            expect(decodeTensorF32(bytes, info.dtype, info.name).length).toBe(info.byteLength / sizes[info.dtype]);
          }
        }
        outcomes.parsed++;
      } catch (error) {
        if (!(error instanceof PackFormatError)) throw error;
        expect(error.message.startsWith(`fuzz-${trial}: `)).toBe(true);
        outcomes.rejected++;
      }
    }
    // Both branches must be exercised for the test to mean anything.
    expect(outcomes.parsed).toBeGreaterThan(50);
    expect(outcomes.rejected).toBeGreaterThan(200);
  });
});

function mutate(file: Uint8Array, jsonEnd: number, trial: number, randomInt: (limit: number) => number): Uint8Array {
  const bytes = file.slice();
  switch (trial % 6) {
    case 0: {
      // Flip bytes inside the JSON header, where structure lives.
      for (let flips = 1 + randomInt(3); flips > 0; flips--) bytes[8 + randomInt(jsonEnd - 8)] = randomInt(256);
      return bytes;
    }
    case 1: {
      // Replace a digit in the header with another digit: shapes and offsets change but stay JSON.
      const digits = [];
      for (let i = 8; i < jsonEnd; i++) if (bytes[i] >= 0x30 && bytes[i] <= 0x39) digits.push(i);
      if (digits.length > 0) bytes[digits[randomInt(digits.length)]] = 0x30 + randomInt(10);
      return bytes;
    }
    case 2:
      return bytes.subarray(0, randomInt(bytes.byteLength + 1));
    case 3: {
      bytes[randomInt(8)] = randomInt(256);
      return bytes;
    }
    case 4: {
      const grown = new Uint8Array(bytes.byteLength + 1 + randomInt(8));
      grown.set(bytes);
      return grown;
    }
    default: {
      // Mutations of the data region never invalidate a file.
      if (bytes.byteLength > jsonEnd) bytes[jsonEnd + randomInt(bytes.byteLength - jsonEnd)] ^= 0xff;
      return bytes;
    }
  }
}

describe('decodeTensor*', () => {
  it('decodes F32, F16 and BF16 exactly from unaligned bytes', () => {
    const values = [1, -0.5, 65504, 2 ** -24];
    const f32 = new Uint8Array(1 + 16);
    f32.set(f32Bytes(values), 1);
    expect(Array.from(decodeTensorF32(f32.subarray(1), 'F32', 'x'))).toEqual(values);
    const f16 = new Uint8Array(1 + 8);
    f16.set(new Uint8Array(new Uint16Array(values.map(f32ToF16Bits)).buffer), 1);
    expect(Array.from(decodeTensorF32(f16.subarray(1), 'F16', 'x'))).toEqual(values);
    const bf16 = new Uint8Array([0x80, 0x3f, 0x00, 0xc0]);
    expect(Array.from(decodeTensorF32(bf16, 'BF16', 'x'))).toEqual([1, -2]);
  });

  it('rejects dtypes it cannot decode and ragged byte counts', () => {
    expect(() => decodeTensorF32(new Uint8Array(4), 'I32', 'model.x')).toThrow(
      expect.objectContaining({ code: 'VPTQ_PACK_UNSUPPORTED_DTYPE', tensor: 'model.x' }),
    );
    expect(() => decodeTensorF32(new Uint8Array(3), 'F16', 'x')).toThrow(/multiple of 2 for F16 \(got 3\)/);
    expect(() => decodeTensorUint32(new Uint8Array(4), 'F32', 'x')).toThrow(PackFormatError);
    expect(() => decodeTensorUint16(new Uint8Array(4), 'I32', 'x')).toThrow(PackFormatError);
    expect(() => decodeTensorIntegers(new Uint8Array(4), 'F32', 'x')).toThrow(PackFormatError);
    expect(Array.from(decodeTensorUint32(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 'I32', 'x'))).toEqual([4294967295]);
    const big = new Uint8Array(new BigInt64Array([2n ** 60n]).buffer);
    expect(() => decodeTensorIntegers(big, 'I64', 'perm')).toThrow(expect.objectContaining({ code: 'VPTQ_PACK_INDEX_RANGE' }));
  });
});
