import { createStorageBuffer, createUniformBuffer, packParams, readBuffer, toBufferBinding } from '../buffers';
import { allFinite, createNonFiniteResult } from '../device-matrix/device-matrix';
import { GpuMatrix } from '../device-matrix/gpu-matrix';
import type { BufferBinding } from '../buffers';
import { ComputeStep, captureGpuErrors, checkWorkgroups } from '../dispatch';
import { bufferUsage } from '../gpu-flags';
import { getComputePipeline } from '../pipeline-cache';
import { assertCount, describe } from '../validate';
import { hessianAccumulatorWgsl } from './hessian-accumulator.wgsl';
import { unpackHessianWgsl } from './unpack-hessian.wgsl';
import { hessianBlockTokens, hessianTile, planHessianAccumulator, planHessianInputs } from './plan-hessian-accumulator';
import type { HessianAccumulatorPlan, HessianWindow } from './plan-hessian-accumulator';

const label = 'hessian-accumulator';

/** Options of {@link createGpuHessianAccumulator}. */
export interface GpuHessianAccumulatorOptions {
  /**
   * Largest bytes of one window of the accumulator; default (and at most) the device's
   * `maxStorageBufferBindingSize` and `maxBufferSize`. Lower it to test windows on a small problem.
   */
  readonly maxBindingBytes?: number;
}

/**
 * What {@link GpuHessianAccumulator.read} returns: structurally the `HessianSums` that `hessianAccumulatorFromSums`
 * of @vptq/hessian turns into an accumulator for `finalizeHessian`.
 */
export interface GpuHessianSums {
  /** Input width n. */
  readonly columns: number;
  /** `[n, n]` f64 Σ xxᵀ over the summed tokens, upper triangle (j ≥ i); the lower triangle is 0. */
  readonly sumOuter: Float64Array;
  /** `[n]` f64 Σ x over the summed tokens. */
  readonly sum: Float64Array;
  /** Tokens in `sumOuter` and `sum`: every whole 64-token block of the stream. */
  readonly tokens: number;
  /** `[pendingTokens, n]` f32 row-major: the stream's last partial block (fewer than 64 tokens), not summed. */
  readonly pending: Float32Array;
}

/**
 * What {@link GpuHessianAccumulator.finalize} returns: E[xxᵀ] kept on the device, with what the host needs of
 * it in f64 (the diagonal, to plan the preparation, and the mean).
 */
export interface GpuHessian {
  /** Input width n. */
  readonly size: number;
  /** Tokens summed. */
  readonly tokens: number;
  /**
   * `[n, n]` f32 E[xxᵀ] = Σxxᵀ / tokens, symmetric, original column order: each entry (hi + lo)·f32(1/tokens) of
   * its compensated sum. The caller owns it (`destroy`).
   */
  readonly matrix: GpuMatrix;
  /** `[n]` f64 E[x_c²]: the diagonal's compensated sums divided in f64, as the CPU's `finalizeHessian` divides them. */
  readonly diagonal: Float64Array;
  /** `[n]` f64 E[x]. */
  readonly mean: Float64Array;
}

interface Window extends HessianWindow {
  readonly buffer: GPUBuffer;
}

/**
 * Streaming Σ xxᵀ and Σ x of a layer's inputs on the GPU, the heavy step of @vptq/hessian's accumulator (its CPU
 * twin: `createHessianAccumulator` + `accumulateHessian`). Tokens are summed in 64-token blocks counted from the
 * start of the stream (the CPU accumulator's blocks): each block's products are summed in f32 by a tiled kernel,
 * then added into a (hi, lo) f32 pair per entry with error-free TwoSums (double-float, ≈ 48 bits), so the error
 * is that of one 64-term f32 dot product per block, not of a 100k-term f32 sum. Only the upper triangle of 64 × 64
 * tiles is computed and stored, packed, split by tile rows into windows of one storage binding each. A partial
 * last block waits in a GPU buffer for the next call and is handed over unsummed by {@link read}, so the bytes
 * of the sums are the same however the stream is cut into {@link accumulate} calls (on one device).
 *
 * Memory: 8 bytes per entry of the upper tiles, ≈ 4 n² bytes (826 MB for n = 14336), plus 256 n bytes for the
 * partial block. Create with {@link createGpuHessianAccumulator}; free with {@link destroy}.
 */
export class GpuHessianAccumulator {
  /** Input width n. */
  readonly columns: number;
  /** Bytes of GPU memory held. */
  readonly byteLength: number;
  private readonly device: GPUDevice;
  private readonly pipeline: GPUComputePipeline;
  private readonly plan: HessianAccumulatorPlan;
  private readonly windows: readonly Window[];
  private readonly sums: GPUBuffer;
  private readonly pending: GPUBuffer;
  private readonly params: GPUBuffer[] = [];
  private summedTokens = 0;
  private pendingTokens = 0;
  private destroyed = false;
  private sealed = false;

  /** Use {@link createGpuHessianAccumulator}. */
  constructor(
    device: GPUDevice,
    pipeline: GPUComputePipeline,
    plan: HessianAccumulatorPlan,
    buffers: { readonly windows: readonly GPUBuffer[]; readonly sums: GPUBuffer; readonly pending: GPUBuffer },
  ) {
    this.device = device;
    this.pipeline = pipeline;
    this.plan = plan;
    this.columns = plan.columns;
    this.windows = plan.windows.map((window, index) => ({ ...window, buffer: buffers.windows[index] }));
    this.sums = buffers.sums;
    this.pending = buffers.pending;
    this.byteLength = [...buffers.windows, buffers.sums, buffers.pending].reduce((total, buffer) => total + buffer.size, 0);
  }

  /** Tokens accumulated so far, the pending partial block included. */
  get tokens(): number {
    return this.summedTokens + this.pendingTokens;
  }

  /**
   * Records and submits the accumulation of the first `tokens` rows of `x` (no wait, no readback). The rows
   * that complete the pending partial block are copied into it, whole blocks are read in place, and the rows
   * left over become the new partial block.
   *
   * @param x - `[tokens, columns]` f32 row-major, GPU-resident: a buffer with `STORAGE` and `COPY_SRC` usage, or a
   *   range of one at any offset that is a multiple of 4 (bindings are re-aligned here). May hold more rows.
   * @param tokens - Rows to add, ≥ 0.
   * @throws {RangeError} when `tokens` is not a non-negative integer or `x` holds fewer than `tokens × columns`
   *   f32 values or its offset is not a multiple of 4.
   * @throws {TypeError} when `x` is not a buffer (range) with `STORAGE | COPY_SRC` usage.
   * @throws {Error} after {@link destroy}.
   */
  accumulate(x: BufferBinding, tokens: number): void {
    const fn = 'GpuHessianAccumulator.accumulate';
    this.assertAlive(fn);
    if (this.sealed) throw new Error(`${fn}: the accumulator was finalized on the device and takes no more tokens`);
    assertCount(fn, 'tokens', tokens, 0);
    const { buffer, offset } = checkInput(fn, x, tokens, this.columns);
    if (tokens === 0) return;
    const rowBytes = this.columns * 4;
    const blockBytes = hessianBlockTokens * rowBytes;
    const encoder = this.device.createCommandEncoder({ label });
    const inputs: { binding: GPUBufferBinding; tokenOffset: number; blocks: number }[] = [];
    let consumed = 0;
    if (this.pendingTokens > 0) {
      consumed = Math.min(hessianBlockTokens - this.pendingTokens, tokens);
      encoder.copyBufferToBuffer(buffer, offset, this.pending, this.pendingTokens * rowBytes, consumed * rowBytes);
      this.pendingTokens += consumed;
      if (this.pendingTokens === hessianBlockTokens) {
        inputs.push({ binding: { buffer: this.pending, offset: 0, size: blockBytes }, tokenOffset: 0, blocks: 1 });
        this.pendingTokens = 0;
        this.summedTokens += hessianBlockTokens;
      }
    }
    const blocks = Math.floor((tokens - consumed) / hessianBlockTokens);
    for (const range of planHessianInputs(offset + consumed * rowBytes, blocks, this.columns, this.device.limits)) {
      inputs.push({ binding: { buffer, offset: range.byteOffset, size: range.byteLength }, tokenOffset: range.tokenOffset, blocks: range.blocks });
    }
    consumed += blocks * hessianBlockTokens;
    this.summedTokens += blocks * hessianBlockTokens;

    this.encodeBlocks(fn, encoder, inputs);
    const left = tokens - consumed;
    if (left > 0) {
      // Only reached with an empty partial block: a call that does not complete it is consumed above.
      encoder.copyBufferToBuffer(buffer, offset + consumed * rowBytes, this.pending, 0, left * rowBytes);
      this.pendingTokens = left;
    }
    this.device.queue.submit([encoder.finish()]);
  }

  /**
   * Reads the sums back as f64 (hi + lo of each pair, exact in f64), reflecting every {@link accumulate} call
   * made before this one; accumulation may continue afterwards. Pass the result to `hessianAccumulatorFromSums`
   * of @vptq/hessian, then `finalizeHessian`, which adds the pending tokens in f64 as the CPU accumulator does
   * and rejects non-finite sums (an input that held NaN or ±Infinity, or products beyond f32).
   *
   * @returns `sumOuter` f64 `[n·n]` (upper triangle), `sum` f64 `[n]`, `tokens` summed, `pending` f32 `[p·n]`.
   * @throws {DeviceLostError} when the device is lost before the data arrive.
   * @throws {Error} after {@link destroy}.
   */
  async read(): Promise<GpuHessianSums> {
    this.assertAlive('GpuHessianAccumulator.read');
    const { columns } = this;
    const tokens = this.summedTokens;
    const pendingTokens = this.pendingTokens;
    // Every readBuffer submits its copy before its first await, so all of them see the same calls.
    const windows = Promise.all(this.windows.map((window) => readBuffer(this.device, window.buffer, window.byteLength)));
    const sums = readBuffer(this.device, this.sums, this.plan.tileColumns * hessianTile * 8);
    const pending = pendingTokens > 0 ? readBuffer(this.device, this.pending, pendingTokens * columns * 4) : Promise.resolve(new ArrayBuffer(0));

    const sumOuter = new Float64Array(columns * columns);
    (await windows).forEach((bytes, index) => unpackWindow(this.windows[index], new Float32Array(bytes), this.plan, sumOuter));
    const sumPairs = new Float32Array(await sums);
    const sum = new Float64Array(columns);
    for (let column = 0; column < columns; column++) sum[column] = sumPairs[2 * column] + sumPairs[2 * column + 1];
    return { columns, sumOuter, sum, tokens, pending: new Float32Array(await pending) };
  }

  /**
   * E[xxᵀ] on the device ({@link GpuHessian}), with no n² readback: the pending partial block is summed first
   * (zero-padded to a whole block, which adds nothing), then every window of pairs is unpacked into one
   * `[n, n]` f32 matrix. Ends the accumulation: later {@link accumulate} calls throw ({@link read} still works
   * and reports the pending tokens as summed).
   *
   * @throws {RangeError} when no token was accumulated, or a sum is not finite (an input held NaN or ±Infinity,
   *   or a product exceeded f32), naming the entry.
   * @throws {GpuValidationError} `VPTQ_GPU_OUT_OF_MEMORY` when the n² f32 matrix does not fit.
   */
  async finalize(): Promise<GpuHessian> {
    const fn = 'GpuHessianAccumulator.finalize';
    this.assertAlive(fn);
    const { columns, device, plan } = this;
    const tokens = this.tokens;
    if (tokens === 0) throw new RangeError(`${fn}: the accumulator must hold at least one token (got 0)`);
    const unpack = await getComputePipeline(device, { label: `${label}/unpack`, code: unpackHessianWgsl });
    const owned: GPUBuffer[] = [];
    let matrix: GPUBuffer | undefined;
    try {
      const encoder = device.createCommandEncoder({ label });
      if (this.pendingTokens > 0) {
        const rowBytes = columns * 4;
        encoder.clearBuffer(this.pending, this.pendingTokens * rowBytes, (hessianBlockTokens - this.pendingTokens) * rowBytes);
        this.encodeBlocks(fn, encoder, [{ binding: { buffer: this.pending, offset: 0, size: hessianBlockTokens * rowBytes }, tokenOffset: 0, blocks: 1 }]);
        this.summedTokens += this.pendingTokens;
        this.pendingTokens = 0;
      }
      this.sealed = true;
      const created = await captureGpuErrors(device, label, () => ({
        matrix: createStorageBuffer(device, `${label}/matrix`, columns * columns * 4),
        diagonal: createStorageBuffer(device, `${label}/diagonal`, columns * 8),
        flag: createNonFiniteResult(device, `${label}/flag`),
      }));
      matrix = created.matrix;
      owned.push(created.diagonal, created.flag);
      const pass = encoder.beginComputePass({ label: `${label}/unpack` });
      for (const window of this.windows) {
        const params = createUniformBuffer(
          device,
          `${label}/unpack`,
          packParams([
            ['u32', columns],
            ['u32', plan.tileColumns],
            ['u32', window.tileRowStart],
            ['u32', window.firstTile],
            ['f32', 1 / tokens],
          ]),
        );
        owned.push(params);
        const bindings = [{ buffer: window.buffer, offset: 0, size: window.byteLength }, created.matrix, created.diagonal, created.flag, params];
        new ComputeStep(device, `${label}/unpack`, unpack, bindings, checkWorkgroups(fn, device, plan.tileColumns, window.tileRows)).encode(pass);
      }
      pass.end();
      device.queue.submit([encoder.finish()]);
      const [diagonalPairs, flagWords, sumPairs] = await Promise.all([
        readBuffer(device, created.diagonal, columns * 8),
        readBuffer(device, created.flag, 4),
        readBuffer(device, this.sums, plan.tileColumns * hessianTile * 8),
      ]);
      const first = new Uint32Array(flagWords)[0];
      if (first !== allFinite) {
        throw new RangeError(
          `${fn}: the sums must be finite (got a non-finite value at row ${Math.floor(first / columns)}, column ${first % columns}: an input held NaN or ±Infinity, or a product exceeded f32)`,
        );
      }
      const pairs = new Float32Array(diagonalPairs);
      const diagonal = new Float64Array(columns);
      for (let column = 0; column < columns; column++) diagonal[column] = (pairs[2 * column] + pairs[2 * column + 1]) / tokens;
      const sums = new Float32Array(sumPairs);
      const mean = new Float64Array(columns);
      for (let column = 0; column < columns; column++) {
        const sum = sums[2 * column] + sums[2 * column + 1];
        if (!Number.isFinite(sum)) throw new RangeError(`${fn}: the sums must be finite (got ${sum} in Σx at column ${column})`);
        mean[column] = sum / tokens;
      }
      const result = { size: columns, tokens, matrix: new GpuMatrix(device, matrix, columns), diagonal, mean };
      matrix = undefined;
      return result;
    } finally {
      matrix?.destroy();
      for (const buffer of owned) buffer.destroy();
    }
  }

  /** Frees the GPU memory; the accumulator cannot be used afterwards. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const window of this.windows) window.buffer.destroy();
    for (const buffer of [this.sums, this.pending, ...this.params]) buffer.destroy();
  }

  /** Records the accumulation of whole blocks of `inputs` into every window (one dispatch per input and window). */
  private encodeBlocks(fn: string, encoder: GPUCommandEncoder, inputs: readonly { binding: GPUBufferBinding; tokenOffset: number; blocks: number }[]): void {
    if (inputs.length === 0) return;
    const pass = encoder.beginComputePass({ label });
    let slot = 0;
    for (const input of inputs) {
      for (const window of this.windows) {
        const params = this.paramsBuffer(slot++);
        // Uniform buffers are reused across calls: writeBuffer is ordered after the previous call's submit.
        this.device.queue.writeBuffer(
          params,
          0,
          packParams([
            ['u32', this.columns],
            ['u32', this.plan.tileColumns],
            ['u32', window.tileRowStart],
            ['u32', window.firstTile],
            ['u32', input.tokenOffset],
            ['u32', input.blocks],
            ['u32', 0], // opaqueZero: see the shader, it keeps TwoSum from being simplified away
          ]),
        );
        const grid = checkWorkgroups(fn, this.device, this.plan.tileColumns, window.tileRows);
        const bindings = [input.binding, { buffer: window.buffer, offset: 0, size: window.byteLength }, this.sums, params];
        new ComputeStep(this.device, label, this.pipeline, bindings, grid).encode(pass);
      }
    }
    pass.end();
  }

  private paramsBuffer(slot: number): GPUBuffer {
    while (this.params.length <= slot) this.params.push(createUniformBuffer(this.device, `${label}/params`, new ArrayBuffer(28)));
    return this.params[slot];
  }

  private assertAlive(fn: string): void {
    if (this.destroyed) throw new Error(`${fn}: the accumulator was destroyed`);
  }
}

/**
 * An empty {@link GpuHessianAccumulator} for inputs of `columns` features on `device`.
 *
 * @param columns - Input width n ≥ 1 (up to ≈ 23000 in one 2 GiB binding; wider accumulators take several).
 * @throws {RangeError} when `columns` is not a positive integer, or one row of 64 × 64 tiles (n/64 · 32 KiB)
 *   or one 64-token block of inputs (256 n bytes) exceeds the binding limit.
 * @throws {GpuValidationError} (`VPTQ_GPU_OUT_OF_MEMORY`) when the device cannot allocate the ≈ 4 n² bytes.
 */
export async function createGpuHessianAccumulator(
  device: GPUDevice,
  columns: number,
  options: GpuHessianAccumulatorOptions = {},
): Promise<GpuHessianAccumulator> {
  const fn = 'createGpuHessianAccumulator';
  if (options.maxBindingBytes !== undefined) assertCount(fn, 'options.maxBindingBytes', options.maxBindingBytes);
  const plan = planHessianAccumulator(fn, columns, device.limits, options.maxBindingBytes);
  const pipeline = await getComputePipeline(device, { label, code: hessianAccumulatorWgsl });
  const created: GPUBuffer[] = [];
  const create = (name: string, size: number) => {
    const buffer = device.createBuffer({ label: `${label}/${name}`, size, usage: bufferUsage.storage | bufferUsage.copySrc | bufferUsage.copyDst });
    created.push(buffer);
    return buffer;
  };
  try {
    // Buffers start zeroed (WebGPU guarantees it): every pair is (0, 0).
    const buffers = await captureGpuErrors(device, label, () => ({
      windows: plan.windows.map((window) => create('outer', window.byteLength)),
      sums: create('sums', plan.tileColumns * hessianTile * 8),
      pending: create('pending', hessianBlockTokens * columns * 4),
    }));
    return new GpuHessianAccumulator(device, pipeline, plan, buffers);
  } catch (error) {
    for (const buffer of created) buffer.destroy();
    throw error;
  }
}

function checkInput(fn: string, x: BufferBinding, tokens: number, columns: number): { buffer: GPUBuffer; offset: number } {
  const binding = typeof x === 'object' && x !== null ? toBufferBinding(x) : undefined;
  const buffer = binding?.buffer as GPUBuffer | undefined;
  if (!buffer || typeof buffer.size !== 'number' || typeof buffer.usage !== 'number') {
    throw new TypeError(`${fn}: x must be a GPUBuffer or a { buffer, offset?, size? } range of one (got ${describe(x)})`);
  }
  const needed = bufferUsage.storage | bufferUsage.copySrc;
  if ((buffer.usage & needed) !== needed) {
    throw new TypeError(`${fn}: x must be a buffer with STORAGE and COPY_SRC usage (got usage 0x${buffer.usage.toString(16)})`);
  }
  const offset = binding?.offset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0 || offset % 4 !== 0) {
    throw new RangeError(`${fn}: x.offset must be a non-negative multiple of 4 (got ${describe(offset)})`);
  }
  const size = binding?.size ?? buffer.size - offset;
  if (size < tokens * columns * 4 || offset + size > buffer.size) {
    throw new RangeError(
      `${fn}: x must hold tokens × columns f32 values, ${tokens} × ${columns} × 4 = ${tokens * columns * 4} bytes (got ${size} bytes at offset ${offset} of a ${buffer.size}-byte buffer)`,
    );
  }
  return { buffer, offset };
}

/** Writes the upper-triangle entries of one window's packed tiles into `sumOuter` (row-major `[n, n]`). */
function unpackWindow(window: HessianWindow, pairs: Float32Array, plan: HessianAccumulatorPlan, sumOuter: Float64Array): void {
  const { columns, tileColumns } = plan;
  let tile = 0;
  for (let tileRow = window.tileRowStart; tileRow < window.tileRowStart + window.tileRows; tileRow++) {
    for (let tileColumn = tileRow; tileColumn < tileColumns; tileColumn++, tile++) {
      const base = tile * hessianTile * hessianTile * 2;
      for (let r = 0; r < hessianTile; r++) {
        const row = tileRow * hessianTile + r;
        if (row >= columns) break;
        // On diagonal tiles, only the entries on or above the matrix diagonal.
        const first = Math.max(0, row - tileColumn * hessianTile);
        const last = Math.min(hessianTile, columns - tileColumn * hessianTile);
        for (let c = first; c < last; c++) {
          const pair = base + (r * hessianTile + c) * 2;
          sumOuter[row * columns + tileColumn * hessianTile + c] = pairs[pair] + pairs[pair + 1];
        }
      }
    }
  }
}
