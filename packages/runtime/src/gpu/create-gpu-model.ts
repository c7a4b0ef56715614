import { captureGpuErrors } from '@vptq/kernels-webgpu';
import { bufferUsage } from '@vptq/kernels-webgpu/authoring';
import type { VqGemvOptions } from '@vptq/kernels-webgpu';

import type { ForwardOptions, LanguageModel } from '../language-model';
import { validateConfig } from '../validate-config';
import { checkGreedyDecodeOptions, runGreedyDecode } from './decode-greedy';
import type { GreedyDecodeOptions, GreedyDecodeResult } from './decode-greedy';
import type { ForwardProgram, ProgramTail } from './forward-program';
import { buildForwardProgram } from './forward-program';
import type { DequantScratch } from './gpu-linear';
import { planDequantScratch } from './gpu-linear';
import type { GpuLlamaWeights } from './gpu-llama-weights';
import { allocateModelBuffers } from './model-buffers';
import { runDecodeProfile } from './profile-decode';
import type { DecodeProfile, DecodeProfileOptions } from './profile-decode';
import { createProgramCache } from './program-cache';
import { readMapped } from './read-mapped';
import { uploadLlamaWeights } from './upload-llama-weights';
import type { GpuWeightSource, UploadLlamaWeightsOptions } from './upload-llama-weights';

export type { GreedyDecodeOptions, GreedyDecodeResult } from './decode-greedy';

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
  /**
   * Splits of the KV cache per attention head and query (1 … 64; more add a combine dispatch per layer). Default
   * `planAttentionSplits` of @vptq/kernels-webgpu for the window and `contextLength`.
   */
  readonly attentionSplits?: number;
}

/**
 * The Llama decoder on WebGPU: a {@link LanguageModel} whose `forward` returns a Promise, plus greedy
 * decoding that keeps the chosen token on the GPU, and decode profiling.
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
  /** The dispatches of one `decodeGreedy` step by kernel label (`vq-gemv`, `gemv`, `attention`, `rms-norm`, …). */
  readonly dispatchesPerTokenByKernel: ReadonlyMap<string, number>;
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
  /**
   * Profiles decoding: times `steps` single-token greedy steps from `startPosition` (default 0), submitted back to back with no
   * readback and recording only the selected dispatches (all, the projections, the rest, or one kernel), and
   * splits the time into wall, CPU (uniform writes, recording, submit) and GPU (timestamp queries, when the
   * device has `timestamp-query`). What limits decoding on a device is in these numbers. The cache keeps only
   * the positions before `startPosition`.
   */
  profileDecode(options?: DecodeProfileOptions): Promise<DecodeProfile>;
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

/** The single-token programs, built with the model and never evicted. */
const pinnedPrograms = ['1:last', '1:argmax'];
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
  const vocab = config.vocabSize;
  const memory = await allocateModelBuffers(device, config, { contextLength, chunk });
  const { buffers } = memory;
  const lastLogitsReadback = memory.readback('last-logits/readback', vocab * 4);
  const idReadbacks: GPUBuffer[] = [];
  const idReadback = (slot: number): GPUBuffer => {
    while (idReadbacks.length <= slot) idReadbacks.push(memory.readback(`token-id/readback-${idReadbacks.length}`, 4));
    return idReadbacks[slot];
  };
  let scratch: DequantScratch | undefined;
  const context = {
    vqGemvOptions: options.vqGemv,
    dequantScratch: (): DequantScratch => {
      if (!scratch) {
        const plan = planDequantScratch(device, weights.layers.flatMap((layer) => Object.values(layer.linears)));
        scratch = { buffer: memory.storage('vq-dequant-scratch', plan.bytes), format: plan.format };
      }
      return scratch;
    },
  };
  const programs = createProgramCache(
    (tokens, tail) => captureGpuErrors(device, fn, () => buildForwardProgram(device, weights, buffers, tokens, tail, context, { attentionSplits: options.attentionSplits })),
    { limit: cachedProgramLimit, pinned: pinnedPrograms },
  );

  let decodeProgram: ForwardProgram;
  try {
    await programs.get(1, 'last');
    decodeProgram = await programs.get(1, 'argmax');
  } catch (error) {
    programs.destroy();
    memory.destroy();
    throw error;
  }

  let destroyed = false;
  let busy = false;
  let cachedPositions = 0;
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
      const program = await programs.get(count, isLast ? lastTail : perChunk ? 'all' : 'none');
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

  return {
    config,
    contextLength,
    device,
    get cachedPositions() {
      return cachedPositions;
    },
    get gpuMemoryBytes() {
      return (ownsWeights ? weights.byteLength : 0) + memory.byteLength();
    },
    weightBytes: weights.byteLength,
    dispatchesPerToken: decodeProgram.dispatchCount,
    dispatchesPerTokenByKernel: decodeProgram.dispatchesByLabel,

    async forward(tokens, startPosition, forwardOptions: ForwardOptions = {}) {
      const ids = checkWindow('forward', tokens, startPosition);
      return exclusive(async () => {
        if (forwardOptions.allLogits) {
          const bytes = ids.length * vocab * 4;
          // Sized per call and freed after it, so it is not one of the model's own buffers.
          const target = device.createBuffer({ label: 'all-logits/readback', size: bytes, usage: bufferUsage.mapRead | bufferUsage.copyDst });
          try {
            await runWindow(
              ids,
              startPosition,
              'all',
              (encoder, program, offset) => encoder.copyBufferToBuffer(program.logits as GPUBuffer, 0, target, offset * vocab * 4, program.tokens * vocab * 4),
              () => undefined,
            );
            return new Float32Array(await readMapped(target, bytes));
          } finally {
            target.destroy();
          }
        }
        await runWindow(ids, startPosition, 'last', undefined, (encoder) =>
          encoder.copyBufferToBuffer(buffers.lastLogits, 0, lastLogitsReadback, 0, vocab * 4),
        );
        return new Float32Array(await readMapped(lastLogitsReadback, vocab * 4));
      });
    },

    async forwardArgmax(tokens, startPosition) {
      const ids = checkWindow('forwardArgmax', tokens, startPosition);
      return exclusive(async () => {
        const target = idReadback(0);
        await runWindow(ids, startPosition, 'argmax', undefined, (encoder) => encoder.copyBufferToBuffer(buffers.tokens, 0, target, 0, 4));
        return new Uint32Array(await readMapped(target, 4))[0];
      });
    },

    async decodeGreedy(token, position, decodeOptions) {
      checkWindow('decodeGreedy', [token], position);
      checkGreedyDecodeOptions('decodeGreedy', decodeOptions);
      return exclusive(async () =>
        runGreedyDecode(
          {
            device,
            contextLength,
            tokenIds: buffers.tokens,
            program: await programs.get(1, 'argmax'),
            idReadback,
            setCachedPositions: (positions) => (cachedPositions = positions),
          },
          token,
          position,
          decodeOptions,
        ),
      );
    },

    async profileDecode(profileOptions) {
      if (destroyed) throw new Error('profileDecode: the model was destroyed');
      if (busy) throw new Error('profileDecode: another forward pass of this model is still running; await it first');
      return exclusive(async () => {
        // The steps rewrite cache rows from their start position; nothing cached after them is valid. Rows before
        // it keep what they hold (a long-context profile reads the keys a prefill left there).
        cachedPositions = Math.min(cachedPositions, profileOptions?.startPosition ?? 0);
        return runDecodeProfile({ device, contextLength, program: await programs.get(1, 'argmax') }, profileOptions);
      });
    },

    reset() {
      cachedPositions = 0;
    },

    destroy() {
      if (destroyed) return;
      destroyed = true;
      programs.destroy();
      memory.destroy();
      if (ownsWeights) weights.destroy();
    },
  };
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
