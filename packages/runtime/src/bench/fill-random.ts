import { ComputeStep, checkWorkgroups, createUniformBuffer, getComputePipeline, packParams } from '@vptq/kernels-webgpu/authoring';
import type { KernelDispatch } from '@vptq/kernels-webgpu';

import { f32ToF16Bits as f32ToF16 } from '@vptq/pack-format/safetensors';
import { fillRandomWgsl } from './fill-random.wgsl';

const label = 'fill-random';
const workgroupSize = 256;
const modes = { u32: 0, f16: 1, f32: 2 } as const;

/** What {@link createFillRandomDispatch} writes into each 32-bit word. */
export type FillRandomMode = keyof typeof modes;

/** Options of {@link createFillRandomDispatch}. */
export interface FillRandomOptions {
  /** Word layout; see {@link fillRandomWgsl}. */
  readonly mode: FillRandomMode;
  /** Seed of the stream; different seeds give unrelated words. */
  readonly seed: number;
  /** Index of the first word within the stream, so the windows of one tensor continue one stream. Default 0. */
  readonly offset?: number;
  /** Largest magnitude of the f16/f32 values (they lie in ±[scale/4, scale)). Default 1. */
  readonly scale?: number;
}

/**
 * Records the fill of `count` 32-bit words of `binding` with seeded random data (see {@link fillRandomWgsl}).
 * Kept in the runtime for the synthetic decode benchmark; a candidate to move to kernels-webgpu.
 *
 * @param binding - a storage buffer (range) of at least `4 · count` bytes.
 * @throws {RangeError} when count, seed or offset are not u32 integers, or scale is not a finite number > 0.
 */
export async function createFillRandomDispatch(
  device: GPUDevice,
  binding: GPUBuffer | { readonly buffer: GPUBuffer; readonly offset?: number; readonly size?: number },
  count: number,
  options: FillRandomOptions,
): Promise<KernelDispatch> {
  const fn = 'createFillRandomDispatch';
  const check = (name: string, value: number, min: number): number => {
    if (!Number.isInteger(value) || value < min || value > 0xffffffff) {
      throw new RangeError(`${fn}: ${name} must be an integer between ${min} and 2^32 − 1 (got ${value})`);
    }
    return value;
  };
  check('count', count, 1);
  const seed = check('options.seed', options.seed, 0);
  const offset = check('options.offset', options.offset ?? 0, 0);
  const scale = options.scale ?? 1;
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`${fn}: options.scale must be a finite number > 0 (got ${scale})`);
  const mode = modes[options.mode];
  if (mode === undefined) throw new RangeError(`${fn}: options.mode must be 'u32', 'f16' or 'f32' (got ${String(options.mode)})`);
  const pipeline = await getComputePipeline(device, { label, code: fillRandomWgsl, constants: { workgroupSize } });
  const params = createUniformBuffer(
    device,
    label,
    packParams([
      ['u32', count],
      ['u32', seed],
      ['u32', offset],
      ['u32', mode],
      ['f32', scale],
    ]),
  );
  const groups = Math.min(Math.ceil(count / workgroupSize), device.limits.maxComputeWorkgroupsPerDimension);
  return new ComputeStep(device, label, pipeline, [binding, params], checkWorkgroups(fn, device, groups), [params]);
}

/**
 * CPU twin of the fill kernel: the same words for `count` words from `options.offset`. f16 halves are rounded
 * to nearest even here; WGSL leaves `pack2x16float`'s rounding to the implementation, so compare f16 output
 * within one unit in the last place.
 */
export function fillRandomCpu(count: number, options: FillRandomOptions): Uint32Array {
  const words = new Uint32Array(count);
  const scale = Math.fround(options.scale ?? 1);
  const seedHash = lowbias32(options.seed >>> 0);
  const hashAt = (index: number, stream: number): number => lowbias32((Math.imul(index, 2) + stream) ^ seedHash);
  const value = (bits: number): number => {
    const unit = Math.fround((bits >>> 8) * (1 / 16777216));
    const magnitude = Math.fround(scale * Math.fround(0.25 + Math.fround(0.75 * unit)));
    return bits & 1 ? -magnitude : magnitude;
  };
  const f32 = new Float32Array(1);
  const f32Words = new Uint32Array(f32.buffer);
  for (let i = 0; i < count; i++) {
    const index = ((options.offset ?? 0) + i) >>> 0;
    if (options.mode === 'u32') words[i] = hashAt(index, 0);
    else if (options.mode === 'f16') words[i] = (f32ToF16(value(hashAt(index, 0))) | (f32ToF16(value(hashAt(index, 1))) << 16)) >>> 0;
    else {
      f32[0] = value(hashAt(index, 0));
      words[i] = f32Words[0];
    }
  }
  return words;
}

function lowbias32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}
