import { bufferUsage, captureGpuErrors, createStorageBuffer, mapMode, vqDequantByteLength } from '@vptq/kernels-webgpu';
import type { VqGemvOptions } from '@vptq/kernels-webgpu';

import type { ForwardOptions, LanguageModel } from '../language-model';
import { validateConfig } from '../validate-config';
import type { DispatchFilter, ForwardProgram, ModelBuffers, ProgramTail } from './forward-program';
import { buildForwardProgram } from './forward-program';
import type { DequantScratch } from './gpu-linear';
import type { GpuLlamaWeights } from './gpu-llama-weights';
import { uploadLlamaWeights } from './upload-llama-weights';
import type { GpuWeightSource, UploadLlamaWeightsOptions } from './upload-llama-weights';

/** Options of {@link createGpuModel}. */
export interface GpuModelOptions extends UploadLlamaWeightsOptions {
  /** Positions the KV cache holds (`2 × layers × contextLength × kvHeads × headDim` f32 on the GPU). Default `config.maxPositionEmbeddings`. */
  readonly contextLength?: number;
  /**
   * Most tokens one recorded pass handles; longer windows run as consecutive chunks (one submit each), which
   * bounds the activation buffers (`[chunk, intermediate]` f32, `[chunk, vocab]` logits). Default
   * `min(256, contextLength)`.
   */
  readonly prefillChunkTokens?: number;
  /** Tuning of the fused VQ-GEMV (workgroup size, split-K); default the kernel's. */
  readonly vqGemv?: VqGemvOptions;
}

/** Options of {@link GpuLlamaModel.decodeGreedy}. */
export interface GreedyDecodeOptions {
  /** Most tokens to produce. */
  readonly maxTokens: number;
  /** Ids that end decoding without being returned. Default none. */
  readonly stopTokens?: readonly number[];
  /** Called with each produced id, in order, as soon as it is read back. */
  readonly onToken?: (token: number) => void;
  /**
   * Tokens submitted ahead of the last one read back (1 = wait for every token). The chosen id feeds the next
   * step on the GPU, so steps queue up without waiting; ids computed past a stop token are discarded.
   * Default 2.
   */
  readonly lookahead?: number;
}

/** What {@link GpuLlamaModel.decodeGreedy} produced. */
export interface GreedyDecodeResult {
  /** Produced ids, without the stop token. */
  readonly tokens: number[];
  /** `'stop'`: a stop token came; `'length'`: maxTokens reached; `'context'`: the KV cache is full. */
  readonly stopReason: 'stop' | 'length' | 'context';
}

/**
 * The Llama decoder on WebGPU: a {@link LanguageModel} whose `forward` returns a Promise, plus greedy
 * decoding that keeps the chosen token on the GPU.
 */
export interface GpuLlamaModel extends LanguageModel {
  readonly device: GPUDevice;
  /** Positions cached since the last `reset()`. */
  readonly cachedPositions: number;
  /** Bytes of the GPU buffers this model allocated: weights, KV cache, activations, readback buffers. */
  readonly gpuMemoryBytes: number;
  /** Bytes of the weights alone. */
  readonly weightBytes: number;
  /** Compute dispatches in one `decodeGreedy` step (one submit); a single-token `forward` has one fewer (no argmax). */
  readonly dispatchesPerToken: number;
  /**
   * As `LanguageModel.forward`: one submit per chunk of the window, then one readback of the logits
   * (`[tokens, vocab]` f32 with `allLogits`, else `[vocab]`).
   */
  forward(tokens: readonly number[], startPosition: number, options?: ForwardOptions): Promise<Float32Array>;
  /** Runs the window like `forward` but reads back only the argmax of the last logits (ties to the lowest id). */
  forwardArgmax(tokens: readonly number[], startPosition: number): Promise<number>;
  /**
   * Greedy decoding from `token` at `position`: each step runs one token (one submit), its argmax becomes the
   * next step's input on the GPU, and ids are read back `lookahead` steps behind. Leaves `position +
   * steps read` positions cached, as a loop of `forward` calls would.
   */
  decodeGreedy(token: number, position: number, options: GreedyDecodeOptions): Promise<GreedyDecodeResult>;
  /** Frees every GPU buffer of the model; later calls throw. */
  destroy(): void;
}

/**
 * Uploads a model to the GPU and builds its decoder (see {@link createGpuModelFromWeights}).
 *
 * @param source - a `ModelSource` from @vptq/loader, or a `VptqModelSource` whose packed projections then run
 *   with the fused VQ-GEMV (decode) and dequantization + GEMM (prefill windows).
 * @throws {LlamaRuntimeError} VPTQ_RUNTIME_BAD_WEIGHTS when a tensor disagrees with the config.
 * @throws {RangeError} if the config or an option is out of range.
 */
export async function createGpuModel(device: GPUDevice, source: GpuWeightSource, options: GpuModelOptions = {}): Promise<GpuLlamaModel> {
  validateConfig('createGpuModel', source.config);
  checkOptions('createGpuModel', source.config.maxPositionEmbeddings, options);
  const weights = await captureGpuErrors(device, 'createGpuModel', () => uploadLlamaWeights(device, source, options));
  try {
    return await createGpuModelFromWeights(device, weights, options, true);
  } catch (error) {
    weights.destroy();
    throw error;
  }
}

/** Timing hooks for the decode benchmark (not part of the public API). */
export interface DecodeStepRunner {
  /**
   * Submits `count` single-token greedy steps from `position` (one submit each, ids fed back on the GPU, no
   * readback), recording only the dispatches `filter` selects, and waits for the GPU.
   *
   * @returns wall milliseconds, milliseconds spent encoding and submitting, and (with `querySet`, 2 entries
   *   per step) nothing else: the caller resolves the timestamps.
   */
  run(count: number, position: number, filter: DispatchFilter, querySet?: GPUQuerySet): Promise<DecodeStepTimes>;
  /** Dispatches of one step by kernel label. */
  readonly dispatchesByLabel: ReadonlyMap<string, number>;
}

/** Wall and CPU milliseconds of {@link DecodeStepRunner.run}, summed over its steps. */
export interface DecodeStepTimes {
  readonly wallMs: number;
  /** `setPosition` (the uniform writes) + recording + `finish` + `submit`. */
  readonly encodeMs: number;
  /** The uniform writes alone. */
  readonly positionMs: number;
  /** Recording the dispatches into the command encoder alone. */
  readonly recordMs: number;
  /** `finish()` + `queue.submit()` alone (where Dawn validates and translates the commands). */
  readonly submitMs: number;
}

const stepRunners = new WeakMap<GpuLlamaModel, DecodeStepRunner>();

/** The {@link DecodeStepRunner} of a model built by {@link createGpuModelFromWeights}. */
export function getDecodeStepRunner(model: GpuLlamaModel): DecodeStepRunner {
  const runner = stepRunners.get(model);
  if (!runner) throw new TypeError('getDecodeStepRunner: model must come from createGpuModel');
  return runner;
}

const pinnedPrograms = new Set(['1:last', '1:argmax']);
const cachedProgramLimit = 8;

/**
 * Builds the decoder over weights already on the GPU: activation buffers sized for one chunk, a KV cache of
 * `contextLength` positions per layer, and recorded programs (one per window size and output kind, cached;
 * the single-token ones are built here so that decoding starts without compiling).
 *
 * @param ownsWeights - whether `destroy()` also frees `weights`.
 */
export async function createGpuModelFromWeights(
  device: GPUDevice,
  weights: GpuLlamaWeights,
  options: GpuModelOptions = {},
  ownsWeights = false,
): Promise<GpuLlamaModel> {
  const fn = 'createGpuModel';
  const { config } = weights;
  validateConfig(fn, config);
  const { contextLength, chunk } = checkOptions(fn, config.maxPositionEmbeddings, options);
  const hidden = config.hiddenSize;
  const queryWidth = config.numAttentionHeads * config.headDim;
  const kvWidth = config.numKeyValueHeads * config.headDim;
  const vocab = config.vocabSize;

  const allocated: GPUBuffer[] = [];
  const storage = (label: string, bytes: number): GPUBuffer => {
    const buffer = createStorageBuffer(device, label, bytes);
    allocated.push(buffer);
    return buffer;
  };
  const readback = (label: string, bytes: number): GPUBuffer => {
    const buffer = device.createBuffer({ label, size: Math.max(16, Math.ceil(bytes / 4) * 4), usage: bufferUsage.mapRead | bufferUsage.copyDst });
    allocated.push(buffer);
    return buffer;
  };
  let allLogits: GPUBuffer | undefined;
  let scratch: DequantScratch | undefined;
  const programs = new Map<string, Promise<ForwardProgram>>();
  let destroyed = false;
  let busy = false;
  let cachedPositions = 0;

  const buffers: ModelBuffers = await captureGpuErrors(device, fn, () => ({
    tokens: storage('tokens', chunk * 4),
    x: storage('x', chunk * hidden * 4),
    normed: storage('normed', chunk * hidden * 4),
    q: storage('q', chunk * queryWidth * 4),
    k: storage('k', chunk * kvWidth * 4),
    v: storage('v', chunk * kvWidth * 4),
    attention: storage('attention', chunk * queryWidth * 4),
    qkv: storage('qkv', (queryWidth + 2 * kvWidth) * 4),
    gateUp: storage('gate-up', 2 * config.intermediateSize * 4),
    projected: storage('projected', chunk * hidden * 4),
    gate: storage('gate', chunk * config.intermediateSize * 4),
    up: storage('up', chunk * config.intermediateSize * 4),
    activated: storage('activated', chunk * config.intermediateSize * 4),
    lastRow: storage('last-row', hidden * 4),
    lastNormed: storage('last-normed', hidden * 4),
    lastLogits: storage('last-logits', vocab * 4),
    allLogits: () => (allLogits ??= storage('all-logits', chunk * vocab * 4)),
    keyCache: weights.layers.map((_, layer) => storage(`key-cache-${layer}`, contextLength * kvWidth * 4)),
    valueCache: weights.layers.map((_, layer) => storage(`value-cache-${layer}`, contextLength * kvWidth * 4)),
    kvState: (() => {
      const buffer = device.createBuffer({ label: 'kv-state', size: 16, usage: bufferUsage.uniform | bufferUsage.copyDst });
      allocated.push(buffer);
      return buffer;
    })(),
  }));
  const lastLogitsReadback = readback('last-logits/readback', vocab * 4);
  const idReadbacks: GPUBuffer[] = [];

  const context = {
    vqGemvOptions: options.vqGemv,
    dequantScratch: (): DequantScratch => {
      if (!scratch) {
        // f32 keeps prefill bit-compatible with decode's f32 sums; f16 halves the scratch when f32 would not fit one binding.
        let bytes = 0;
        for (const layer of weights.layers) {
          for (const linear of Object.values(layer.linears)) if (linear.kind === 'vq') bytes = Math.max(bytes, vqDequantByteLength(linear.layer, 'f32'));
        }
        const format = bytes <= device.limits.maxStorageBufferBindingSize ? 'f32' : 'f16';
        scratch = { buffer: storage('vq-dequant-scratch', format === 'f32' ? bytes : bytes / 2), format };
      }
      return scratch;
    },
  };

  const getProgram = (tokens: number, tail: ProgramTail): Promise<ForwardProgram> => {
    const key = `${tokens}:${tail}`;
    let program = programs.get(key);
    if (program) {
      programs.delete(key);
      programs.set(key, program);
      return program;
    }
    program = captureGpuErrors(device, fn, () => buildForwardProgram(device, weights, buffers, tokens, tail, context));
    programs.set(key, program);
    program.catch(() => programs.delete(key));
    for (const [oldKey, old] of programs) {
      if (programs.size <= cachedProgramLimit) break;
      if (pinnedPrograms.has(oldKey)) continue;
      programs.delete(oldKey);
      void old.then((evicted) => evicted.destroy(), () => undefined);
    }
    return program;
  };

  let decodeProgram: ForwardProgram;
  try {
    await getProgram(1, 'last');
    decodeProgram = await getProgram(1, 'argmax');
  } catch (error) {
    for (const buffer of allocated) buffer.destroy();
    throw error;
  }

  const checkWindow = (name: string, tokens: readonly number[], startPosition: number): Uint32Array => {
    if (destroyed) throw new Error(`${name}: the model was destroyed`);
    if (busy) throw new Error(`${name}: another forward pass of this model is still running; await it first`);
    if (!Array.isArray(tokens) || tokens.length === 0) {
      throw new RangeError(`${name}: tokens must be a non-empty array of token ids (got ${Array.isArray(tokens) ? 'an empty array' : String(tokens)})`);
    }
    if (!Number.isInteger(startPosition) || startPosition < 0 || startPosition > cachedPositions) {
      throw new RangeError(`${name}: startPosition must be an integer between 0 and the ${cachedPositions} cached positions (got ${startPosition})`);
    }
    if (startPosition + tokens.length > contextLength) {
      throw new RangeError(`${name}: startPosition + tokens must not exceed contextLength (got ${startPosition} + ${tokens.length} > ${contextLength})`);
    }
    const ids = new Uint32Array(tokens.length);
    tokens.forEach((token, index) => {
      if (!Number.isInteger(token) || token < 0 || token >= vocab) {
        throw new RangeError(`${name}: tokens[${index}] must be an integer id in [0, ${vocab}) (got ${token})`);
      }
      ids[index] = token;
    });
    return ids;
  };

  /** Submits the window chunk by chunk; `finish` records the readback copy after the last chunk. */
  const runWindow = async (
    ids: Uint32Array,
    startPosition: number,
    lastTail: ProgramTail,
    perChunk: ((encoder: GPUCommandEncoder, program: ForwardProgram, offset: number) => void) | undefined,
    finish: (encoder: GPUCommandEncoder, program: ForwardProgram) => void,
  ): Promise<void> => {
    // From here the window's cache rows are being rewritten: on failure only the positions before it stay valid.
    cachedPositions = startPosition;
    for (let offset = 0; offset < ids.length; offset += chunk) {
      const count = Math.min(chunk, ids.length - offset);
      const isLast = offset + count === ids.length;
      const program = await getProgram(count, isLast ? lastTail : perChunk ? 'all' : 'none');
      device.queue.writeBuffer(buffers.tokens, 0, ids, offset, count);
      program.setPosition(startPosition + offset);
      const encoder = device.createCommandEncoder({ label: 'llama-forward' });
      program.encode(encoder);
      perChunk?.(encoder, program, offset);
      if (isLast) finish(encoder, program);
      device.queue.submit([encoder.finish()]);
    }
    cachedPositions = startPosition + ids.length;
  };

  const exclusive = async <T>(action: () => Promise<T>): Promise<T> => {
    busy = true;
    try {
      return await action();
    } finally {
      busy = false;
    }
  };

  const readWords = async (buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> => {
    await buffer.mapAsync(mapMode.read, 0, bytes);
    try {
      return buffer.getMappedRange(0, bytes).slice(0);
    } finally {
      buffer.unmap();
    }
  };

  const idReadback = (slot: number): GPUBuffer => {
    while (idReadbacks.length <= slot) idReadbacks.push(readback(`token-id/readback-${idReadbacks.length}`, 4));
    return idReadbacks[slot];
  };

  const model: GpuLlamaModel = {
    config,
    contextLength,
    device,
    get cachedPositions() {
      return cachedPositions;
    },
    get gpuMemoryBytes() {
      let total = ownsWeights ? weights.byteLength : 0;
      for (const buffer of allocated) total += buffer.size;
      return total;
    },
    weightBytes: weights.byteLength,
    dispatchesPerToken: decodeProgram.dispatchCount,

    async forward(tokens, startPosition, forwardOptions: ForwardOptions = {}) {
      const ids = checkWindow('forward', tokens, startPosition);
      return exclusive(async () => {
        if (forwardOptions.allLogits) {
          const bytes = ids.length * vocab * 4;
          const target = device.createBuffer({ label: 'all-logits/readback', size: bytes, usage: bufferUsage.mapRead | bufferUsage.copyDst });
          try {
            await runWindow(
              ids,
              startPosition,
              'all',
              (encoder, program, offset) => encoder.copyBufferToBuffer(program.logits as GPUBuffer, 0, target, offset * vocab * 4, program.tokens * vocab * 4),
              () => undefined,
            );
            return new Float32Array(await readWords(target, bytes));
          } finally {
            target.destroy();
          }
        }
        await runWindow(ids, startPosition, 'last', undefined, (encoder) =>
          encoder.copyBufferToBuffer(buffers.lastLogits, 0, lastLogitsReadback, 0, vocab * 4),
        );
        return new Float32Array(await readWords(lastLogitsReadback, vocab * 4));
      });
    },

    async forwardArgmax(tokens, startPosition) {
      const ids = checkWindow('forwardArgmax', tokens, startPosition);
      return exclusive(async () => {
        const target = idReadback(0);
        await runWindow(ids, startPosition, 'argmax', undefined, (encoder) => encoder.copyBufferToBuffer(buffers.tokens, 0, target, 0, 4));
        return new Uint32Array(await readWords(target, 4))[0];
      });
    },

    async decodeGreedy(token, position, decodeOptions) {
      const name = 'decodeGreedy';
      checkWindow(name, [token], position);
      const { maxTokens, onToken, stopTokens = [], lookahead = 2 } = decodeOptions ?? ({ maxTokens: Number.NaN } as GreedyDecodeOptions);
      if (!Number.isInteger(maxTokens) || maxTokens < 0) throw new RangeError(`${name}: options.maxTokens must be a non-negative integer (got ${maxTokens})`);
      if (!Number.isInteger(lookahead) || lookahead < 1 || lookahead > 64) {
        throw new RangeError(`${name}: options.lookahead must be an integer between 1 and 64 (got ${lookahead})`);
      }
      const stops = new Set(stopTokens);
      return exclusive(async () => {
        const produced: number[] = [];
        if (maxTokens === 0) return { tokens: produced, stopReason: 'length' as const };
        const program = await getProgram(1, 'argmax');
        cachedPositions = position;
        device.queue.writeBuffer(buffers.tokens, 0, new Uint32Array([token]));
        // Step s feeds one token at position + s and yields produced[s]; there are at most maxTokens steps.
        const steps = Math.min(maxTokens, contextLength - position);
        let submitted = 0;
        let read = 0;
        let stopReason: GreedyDecodeResult['stopReason'] = 'length';
        for (;;) {
          while (submitted < steps && submitted - read < lookahead) {
            program.setPosition(position + submitted);
            const encoder = device.createCommandEncoder({ label: 'llama-decode' });
            program.encode(encoder);
            encoder.copyBufferToBuffer(buffers.tokens, 0, idReadback(submitted % lookahead), 0, 4);
            device.queue.submit([encoder.finish()]);
            submitted++;
          }
          const id = new Uint32Array(await readWords(idReadback(read % lookahead), 4))[0];
          read++;
          cachedPositions = position + read;
          if (stops.has(id)) {
            stopReason = 'stop';
            break;
          }
          produced.push(id);
          onToken?.(id);
          if (produced.length >= maxTokens) break;
          if (read >= steps) {
            stopReason = 'context';
            break;
          }
        }
        // Steps submitted past the end wrote cache rows beyond cachedPositions, which nothing reads; let them finish.
        if (submitted > read) await device.queue.onSubmittedWorkDone();
        return { tokens: produced, stopReason };
      });
    },

    reset() {
      cachedPositions = 0;
    },

    destroy() {
      if (destroyed) return;
      destroyed = true;
      for (const program of programs.values()) void program.then((built) => built.destroy(), () => undefined);
      programs.clear();
      for (const buffer of allocated) buffer.destroy();
      if (ownsWeights) weights.destroy();
    },
  };
  stepRunners.set(model, {
    dispatchesByLabel: decodeProgram.dispatchesByLabel,
    async run(count, position, filter, querySet) {
      if (position + count > contextLength) throw new RangeError(`run: position + count must not exceed contextLength (got ${position} + ${count} > ${contextLength})`);
      return exclusive(async () => {
        const program = await getProgram(1, 'argmax');
        const start = performance.now();
        let positionMs = 0;
        let recordMs = 0;
        let submitMs = 0;
        for (let step = 0; step < count; step++) {
          const t0 = performance.now();
          program.setPosition(position + step);
          const t1 = performance.now();
          const encoder = device.createCommandEncoder({ label: 'llama-decode' });
          const timestampWrites = querySet ? { querySet, beginningOfPassWriteIndex: 2 * step, endOfPassWriteIndex: 2 * step + 1 } : undefined;
          program.encode(encoder, { filter, timestampWrites });
          const t2 = performance.now();
          device.queue.submit([encoder.finish()]);
          const t3 = performance.now();
          positionMs += t1 - t0;
          recordMs += t2 - t1;
          submitMs += t3 - t2;
        }
        await device.queue.onSubmittedWorkDone();
        cachedPositions = Math.min(cachedPositions, position);
        return { wallMs: performance.now() - start, encodeMs: positionMs + recordMs + submitMs, positionMs, recordMs, submitMs };
      });
    },
  });
  return model;
}

function checkOptions(fn: string, maxPositions: number, options: GpuModelOptions): { contextLength: number; chunk: number } {
  const contextLength = options.contextLength ?? maxPositions;
  if (!Number.isInteger(contextLength) || contextLength < 1) {
    throw new RangeError(`${fn}: options.contextLength must be a positive integer (got ${contextLength})`);
  }
  const chunk = options.prefillChunkTokens ?? Math.min(256, contextLength);
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`${fn}: options.prefillChunkTokens must be a positive integer (got ${chunk})`);
  return { contextLength, chunk: Math.min(chunk, contextLength) };
}
