import {
  attentionPartialsByteLength,
  createAddDispatch,
  createArgmaxDispatch,
  createAttentionDispatch,
  createEmbeddingDispatch,
  createRmsNormDispatch,
  createRopeKvAppendDispatch,
  createSwigluDispatch,
  planAttentionSplits,
} from '@vptq/kernels-webgpu';
import { createStorageBuffer } from '@vptq/kernels-webgpu/authoring';
import type { KernelDispatch } from '@vptq/kernels-webgpu';
import type { LinearInput } from '@vptq/loader';

import { layerWindows } from '../layer-windows';
import { ropeInverseFrequencies } from '../rope';
import type { GpuLinear, LinearRecordContext } from './gpu-linear';
import { canFoldResidual, canFoldRmsNorm, canFoldSwiglu, recordLinear } from './gpu-linear';
import type { GpuLlamaWeights } from './gpu-llama-weights';
import { recordCommands } from './recorded-commands';
import type { RecordedCommands } from './recorded-commands';

/**
 * What a program computes after the decoder layers: `'all'` logits of every position, `'last'` logits of the
 * last position, `'argmax'` those plus their argmax written to `tokens[0]` (so the next decode step reads it
 * on the GPU), `'none'` nothing (a prefill chunk that only fills the KV cache).
 */
export type ProgramTail = 'all' | 'last' | 'argmax' | 'none';

/** The activation buffers a model shares among its programs (all f32 unless noted). */
export interface ModelBuffers {
  /** `[maxTokens]` u32 token ids; `tokens[0]` also receives the argmax of `'argmax'` programs. */
  readonly tokens: GPUBuffer;
  /** Residual stream `[maxTokens, hidden]`. */
  readonly x: GPUBuffer;
  readonly normed: GPUBuffer;
  /** `[maxTokens, heads × headDim]`. */
  readonly q: GPUBuffer;
  /** `[maxTokens, kvHeads × headDim]`. */
  readonly k: GPUBuffer;
  readonly v: GPUBuffer;
  /** `[maxTokens, heads × headDim]` attention output. */
  readonly attention: GPUBuffer;
  /** `[maxTokens, hidden]` projection output before the residual add. */
  readonly projected: GPUBuffer;
  /** `[q | k | v]` of one token (`heads·headDim + 2·kvHeads·headDim`), so decode runs one RoPE over q and k. */
  readonly qkv: GPUBuffer;
  /** `[gate | up]` of one token (`2 × intermediate`). */
  readonly gateUp: GPUBuffer;
  /** `[maxTokens, intermediate]` each. */
  readonly gate: GPUBuffer;
  readonly up: GPUBuffer;
  readonly activated: GPUBuffer;
  /** `[hidden]` last row of x and its normalization. */
  readonly lastRow: GPUBuffer;
  readonly lastNormed: GPUBuffer;
  /** `[vocab]` logits of the last position. */
  readonly lastLogits: GPUBuffer;
  /** `[maxTokens, vocab]` logits of every position, allocated on first use. */
  readonly allLogits: () => GPUBuffer;
  /** Per layer `[contextLength, kvHeads × headDim]`. */
  readonly keyCache: readonly GPUBuffer[];
  readonly valueCache: readonly GPUBuffer[];
  /**
   * Uniform `{ position: u32 }` (16 bytes): the first position of a pass, read by every position-dependent
   * dispatch (RoPE + KV append, attention), so that moving a program to the next token is one `writeBuffer`.
   */
  readonly position: GPUBuffer;
}

/**
 * Which dispatches {@link ForwardProgram.encode} records: all, only the projections, all but them, or those
 * whose kernel label (`gemv`, `vq-gemv`, `attention`, …) the predicate accepts.
 */
export type DispatchFilter = 'all' | 'linear' | 'other' | ((label: string) => boolean);

/**
 * Every dispatch of one forward pass over a fixed number of tokens, created once (pipelines, bind groups,
 * uniforms) and encoded into a fresh command encoder per call; only positions change between calls.
 */
export interface ForwardProgram {
  readonly tokens: number;
  readonly tail: ProgramTail;
  /** Compute dispatches per encode (all filters). */
  readonly dispatchCount: number;
  /** Compute dispatches of the projections and the classifier (the `'linear'` filter). */
  readonly linearDispatchCount: number;
  /** Compute dispatches per encode by kernel label. */
  readonly dispatchesByLabel: ReadonlyMap<string, number>;
  /** Where the logits land: `[tokens, vocab]` for `'all'`, `[vocab]` for `'last'`/`'argmax'`. */
  readonly logits: GPUBuffer | undefined;
  /** Writes the first position into the shared position uniform (one `writeBuffer`), for the next submit. */
  setPosition(position: number): void;
  /**
   * Records the pass (or passes, when the last row must be copied out) into `encoder`.
   *
   * @param options.timestampWrites - given to the first compute pass when the program has exactly one.
   */
  encode(encoder: GPUCommandEncoder, options?: { readonly filter?: DispatchFilter; readonly timestampWrites?: GPUComputePassTimestampWrites }): void;
  destroy(): void;
}

/** One step of a recorded program: a dispatch (a projection's or not), or a buffer copy between passes. */
export type Segment =
  | { readonly kind: 'dispatch'; readonly dispatch: KernelDispatch; readonly linear: boolean }
  | { readonly kind: 'copy'; readonly source: GPUBuffer; readonly sourceOffset: number; readonly target: GPUBuffer; readonly size: number };

/**
 * The weights a program reads: the decoder layers always; the embeddings only when it embeds tokens, the final
 * norm and classifier only when its tail computes logits.
 */
export type ProgramWeights = Pick<GpuLlamaWeights, 'config' | 'layers'> & Partial<Pick<GpuLlamaWeights, 'embedTokens' | 'norm' | 'lmHead'>>;

/** A projection input a {@link LinearInputHook} sees: `[tokens, inFeatures]` f32 in `input`. */
export interface GpuLinearInputEvent {
  /** Model index of the decoder layer. */
  readonly layer: number;
  readonly group: LinearInput;
  readonly input: GPUBuffer;
  readonly tokens: number;
  readonly inFeatures: number;
}

/**
 * Called once per projection input while a program is recorded; a buffer it returns receives a copy of the input
 * (all its `tokens × inFeatures` f32, from offset 0) right after the input is computed, between passes.
 */
export type LinearInputHook = (event: GpuLinearInputEvent) => GPUBuffer | undefined;

/** What {@link buildForwardProgram} records besides the model's own forward pass. */
export interface ForwardProgramOptions {
  /** `'tokens'` (default): embed `buffers.tokens`; `'hidden'`: `buffers.x` already holds the residual stream. */
  readonly input?: 'tokens' | 'hidden';
  /** Model index of `weights.layers[0]` (its sliding window, the events' layer). Default 0. */
  readonly firstLayer?: number;
  /**
   * Runs for every projection input (see {@link LinearInputHook}). Turns off the decode-only fusions that skip
   * materializing an input (folded RMSNorm, SwiGLU read by down_proj, stacked q/k/v).
   */
  readonly onLinearInput?: LinearInputHook;
  /** Splits of the KV cache per attention head (1 … 64). Default `planAttentionSplits` for the cache's capacity. */
  readonly attentionSplits?: number;
}

/**
 * Records the Llama forward pass over `tokens` positions: embedding; per layer RMSNorm, q/k/v projections,
 * RoPE (at the CPU decoder's frequencies) and KV append in one dispatch, split-K GQA attention over the cache
 * (within the layer's sliding window, if any; a combine dispatch when split), o projection and residual add,
 * RMSNorm, gate/up, SwiGLU, down projection and residual add; then the final RMSNorm and classifier as `tail`
 * asks. Every position-dependent dispatch reads `buffers.position`, so `setPosition` is one uniform write.
 *
 * Fusions without a hook: where a layer's norm gains are folded into its weights (`GpuLayerWeights.gainsFolded`),
 * the RMSNorm dispatch goes away: packed projections whose workgroups see whole rows normalize x themselves,
 * dense q/k/v leave the inverse RMS to the RoPE + KV-append dispatch, and dense gate/up to SwiGLU (both are
 * linear in the projection's output up to SwiGLU's silu, which takes the scaled inputs). A single-token
 * program (decode) also keeps q|k|v adjacent and gate next to up where the widths allow (256-byte aligned
 * offsets), for stacked q/k/v and gate/up GEMVs, and folds the residual adds into the o and down projections'
 * bias input: 7 dispatches per dense layer (GEMV q|k|v, RoPE + KV append, attention, GEMV o, GEMV gate|up,
 * SwiGLU, GEMV down) and 6 per packed layer, whose down projection also reads SwiGLU's output from [gate | up]
 * itself; a split attention adds its combine. The pass is replayed from a flat command list (see
 * `recordCommands`).
 */
export async function buildForwardProgram(
  device: GPUDevice,
  weights: ProgramWeights,
  buffers: ModelBuffers,
  tokens: number,
  tail: ProgramTail,
  context: LinearRecordContext,
  options: ForwardProgramOptions = {},
): Promise<ForwardProgram> {
  const hook = options.onLinearInput;
  const firstLayer = options.firstLayer ?? 0;
  const { config } = weights;
  const hidden = config.hiddenSize;
  const kvWidth = config.numKeyValueHeads * config.headDim;
  const segments: Segment[] = [];
  const owned: { destroy(): void }[] = [];
  const add = (dispatch: KernelDispatch, linear = false): void => {
    owned.push(dispatch);
    segments.push({ kind: 'dispatch', dispatch, linear });
  };
  const linear = async (projection: GpuLinear, x: GPUBuffer, y: GPUBuffer, rows = tokens): Promise<void> =>
    add(await recordLinear(device, projection, x, y, rows, context), true);

  try {
    const heads = config.numAttentionHeads;
    const kvHeads = config.numKeyValueHeads;
    const queryWidth = heads * config.headDim;
    const intermediate = config.intermediateSize;
    const alignment = device.limits.minStorageBufferOffsetAlignment;
    const aligned = (bytes: number): boolean => bytes % alignment === 0;
    // One decoded token keeps q, k and v adjacent (one RoPE over q and k, one GEMV where q/k/v are stacked)
    // and gate next to up; windows keep them in separate [tokens, width] buffers.
    const packedQkv = !hook && tokens === 1 && aligned(queryWidth * 4) && aligned((queryWidth + kvWidth) * 4);
    const packedGateUp = !hook && tokens === 1 && aligned(intermediate * 4);
    const range = (buffer: GPUBuffer, offset: number, size: number) => ({ buffer, offset: offset * 4, size: size * 4 });
    const query = packedQkv ? range(buffers.qkv, 0, queryWidth) : buffers.q;
    const key = packedQkv ? range(buffers.qkv, queryWidth, kvWidth) : buffers.k;
    const value = packedQkv ? range(buffers.qkv, queryWidth + kvWidth, kvWidth) : buffers.v;
    const gate = packedGateUp ? range(buffers.gateUp, 0, intermediate) : buffers.gate;
    const up = packedGateUp ? range(buffers.gateUp, intermediate, intermediate) : buffers.up;
    // The CPU decoder's frequencies, so that both rotate by the same f32 values (llama3 scaling included).
    const inverseFrequencies = ropeInverseFrequencies(config.headDim, config.ropeTheta, config.ropeScaling);
    const rope = { tokens, heads, kvHeads, headDim: config.headDim, inverseFrequencies, layout: config.ropeLayout };
    const windows = layerWindows(config);
    // One scratch for the split-attention partials of every layer: their dispatches run one after another.
    const capacity = buffers.keyCache[0].size / (kvWidth * 4);
    const splits = options.attentionSplits ?? planAttentionSplits({ tokens, heads, capacity });
    const partials = splits > 1 ? createStorageBuffer(device, 'attention/partials', attentionPartialsByteLength({ tokens, heads, headDim: config.headDim }, splits)) : undefined;
    if (partials) owned.push(partials);
    const epsilon = config.rmsNormEps;
    const norm = (x: GPUBuffer, weight: GPUBuffer, y: GPUBuffer, rows: number) =>
      createRmsNormDispatch(device, { x, weight, y }, { rows, cols: hidden, epsilon: config.rmsNormEps });
    const addInto = async (addend: GPUBuffer, accumulator: GPUBuffer): Promise<void> =>
      add(await createAddDispatch(device, { addend, accumulator }, tokens * hidden));

    const capture = (layer: number, group: LinearInput, input: GPUBuffer, inFeatures: number): void => {
      const target = hook?.({ layer, group, input, tokens, inFeatures });
      if (target) segments.push({ kind: 'copy', source: input, sourceOffset: 0, target, size: tokens * inFeatures * 4 });
    };

    if ((options.input ?? 'tokens') === 'tokens') {
      if (!weights.embedTokens) throw new RangeError('buildForwardProgram: embedding tokens needs weights.embedTokens');
      add(await createEmbeddingDispatch(device, { tokens: buffers.tokens, table: weights.embedTokens, output: buffers.x }, tokens));
    }
    for (const [position, layer] of weights.layers.entries()) {
      const index = firstLayer + position;
      const { linears, stacked } = layer;
      // Where the norm's gain is folded into packed projections that see whole rows, they normalize x
      // themselves and the RMSNorm dispatch is skipped.
      const inKernelNorm = (folded: boolean | undefined, projections: readonly GpuLinear[]): boolean =>
        !hook && folded === true && projections.every((projection) => canFoldRmsNorm(projection, tokens));
      const normalize = { normalizeEpsilon: config.rmsNormEps };
      const qkvStacked = packedQkv ? stacked?.['attention-input'] : undefined;
      const qkvLinears = [linears.q_proj, linears.k_proj, linears.v_proj];
      const normalizeQkv = inKernelNorm(layer.gainsFolded?.input, qkvStacked ? [qkvStacked] : qkvLinears);
      // Dense q/k/v with the gain folded in read the raw stream; RoPE + KV append applies the inverse RMS.
      const scaleQkv = !hook && !normalizeQkv && layer.gainsFolded?.input === true && qkvLinears.every(isDenseWithoutBias);
      if (!normalizeQkv && !scaleQkv) add(await norm(buffers.x, layer.inputNorm, buffers.normed, tokens));
      const qkvInput = normalizeQkv || scaleQkv ? buffers.x : buffers.normed;
      if (!normalizeQkv && !scaleQkv) capture(index, 'attention-input', buffers.normed, hidden);
      const qkvExtras = normalizeQkv ? normalize : {};
      if (qkvStacked) {
        add(await recordLinear(device, qkvStacked, qkvInput, buffers.qkv, tokens, context, qkvExtras), true);
      } else {
        add(await recordLinear(device, linears.q_proj, qkvInput, query, tokens, context, qkvExtras), true);
        add(await recordLinear(device, linears.k_proj, qkvInput, key, tokens, context, qkvExtras), true);
        add(await recordLinear(device, linears.v_proj, qkvInput, value, tokens, context, qkvExtras), true);
      }
      const caches = { keyCache: buffers.keyCache[position], valueCache: buffers.valueCache[position] };
      add(
        await createRopeKvAppendDispatch(
          device,
          { query, keys: key, values: value, ...caches, position: buffers.position, stream: scaleQkv ? buffers.x : undefined },
          { ...rope, normalize: scaleQkv ? { hidden, epsilon } : undefined },
        ),
      );
      add(
        await createAttentionDispatch(
          device,
          { query, keys: caches.keyCache, values: caches.valueCache, output: buffers.attention, position: buffers.position, partials },
          { tokens, heads, kvHeads, headDim: config.headDim, window: windows[index] === 0 ? undefined : windows[index] },
          { splits },
        ),
      );
      capture(index, 'attention-output', buffers.attention, queryWidth);
      // A decoded token adds the residual through the o/down projections' bias input: x → projected → x. The
      // stream only ends in x if both fold, and a projection with its own bias (o_proj under attention_bias)
      // needs that input for the bias, so then both add the residual with a separate dispatch.
      const fold = !hook && canFoldResidual(linears.o_proj, tokens) && canFoldResidual(linears.down_proj, tokens);
      if (fold) {
        add(await recordLinear(device, linears.o_proj, buffers.attention, buffers.projected, tokens, context, { residual: buffers.x }), true);
      } else {
        await linear(linears.o_proj, buffers.attention, buffers.projected);
        await addInto(buffers.projected, buffers.x);
      }
      const stream = fold ? buffers.projected : buffers.x;
      const gateUpStacked = packedGateUp ? stacked?.['mlp-input'] : undefined;
      const gateUpLinears = [linears.gate_proj, linears.up_proj];
      const normalizeGateUp = inKernelNorm(layer.gainsFolded?.postAttention, gateUpStacked ? [gateUpStacked] : gateUpLinears);
      // Dense gate/up with the gain folded in read the raw stream; SwiGLU applies the inverse RMS.
      const scaleGateUp = !hook && !normalizeGateUp && layer.gainsFolded?.postAttention === true && gateUpLinears.every(isDenseWithoutBias);
      if (!normalizeGateUp && !scaleGateUp) add(await norm(stream, layer.postAttentionNorm, buffers.normed, tokens));
      const mlpInput = normalizeGateUp || scaleGateUp ? stream : buffers.normed;
      if (!normalizeGateUp && !scaleGateUp) capture(index, 'mlp-input', buffers.normed, hidden);
      const mlpExtras = normalizeGateUp ? normalize : {};
      if (gateUpStacked) {
        add(await recordLinear(device, gateUpStacked, mlpInput, buffers.gateUp, tokens, context, mlpExtras), true);
      } else {
        add(await recordLinear(device, linears.gate_proj, mlpInput, gate, tokens, context, mlpExtras), true);
        add(await recordLinear(device, linears.up_proj, mlpInput, up, tokens, context, mlpExtras), true);
      }
      // A packed down projection of a decoded token reads silu(gate) · up from [gate | up] itself.
      const gated = packedGateUp && canFoldSwiglu(linears.down_proj, tokens);
      if (!gated) {
        const normalizeSwiglu = scaleGateUp ? { stream, tokens, hidden, epsilon } : undefined;
        add(await createSwigluDispatch(device, { gate, up, output: buffers.activated }, tokens * intermediate, normalizeSwiglu));
      }
      const downInput = gated ? buffers.gateUp : buffers.activated;
      if (!gated) capture(index, 'mlp-hidden', buffers.activated, intermediate);
      const upOffset = gated ? intermediate : undefined;
      if (fold) {
        add(await recordLinear(device, linears.down_proj, downInput, buffers.x, tokens, context, { residual: buffers.projected, swigluUpOffset: upOffset }), true);
      } else {
        add(await recordLinear(device, linears.down_proj, downInput, buffers.projected, tokens, context, { swigluUpOffset: upOffset }), true);
        await addInto(buffers.projected, buffers.x);
      }
    }

    if (tail !== 'none' && (!weights.norm || !weights.lmHead)) throw new RangeError(`buildForwardProgram: the '${tail}' tail needs weights.norm and weights.lmHead`);
    const finalNorm = weights.norm as GPUBuffer;
    const classifier: GpuLinear = {
      kind: 'dense',
      inFeatures: hidden,
      outFeatures: config.vocabSize,
      weights: weights.lmHead as GpuLlamaWeights['lmHead'],
      bias: undefined,
      byteLength: 0,
      destroy() {},
    };
    let logits: GPUBuffer | undefined;
    if (tail === 'all') {
      logits = buffers.allLogits();
      add(await norm(buffers.x, finalNorm, buffers.normed, tokens));
      await linear(classifier, buffers.normed, logits);
    } else if (tail !== 'none') {
      logits = buffers.lastLogits;
      let last = buffers.x;
      if (tokens > 1) {
        // A binding offset would have to be a multiple of 256 bytes; a copy between passes has no such rule.
        segments.push({ kind: 'copy', source: buffers.x, sourceOffset: (tokens - 1) * hidden * 4, target: buffers.lastRow, size: hidden * 4 });
        last = buffers.lastRow;
      }
      add(await norm(last, finalNorm, buffers.lastNormed, 1));
      await linear(classifier, buffers.lastNormed, logits, 1);
      if (tail === 'argmax') {
        add(await createArgmaxDispatch(device, { logits, indices: { buffer: buffers.tokens, offset: 0, size: 16 } }, { rows: 1, cols: config.vocabSize }));
      }
    }

    const dispatchesByLabel = new Map<string, number>();
    for (const segment of segments) {
      if (segment.kind !== 'dispatch') continue;
      const label = segment.dispatch.label;
      dispatchesByLabel.set(label, (dispatchesByLabel.get(label) ?? 0) + countDispatches([segment]));
    }
    const dispatchCount = countDispatches(segments);
    const linearDispatchCount = countDispatches(segments.filter((segment) => segment.kind === 'dispatch' && segment.linear));
    const singlePass = !segments.some((segment) => segment.kind === 'copy');
    // The dispatches of each filter, replayed as flat command lists (see recordCommands), built on first use.
    // Predicates are kept as long as their caller keeps them (profileDecode passes one for all its steps).
    const replays = new Map<string, RecordedCommands>();
    const predicateReplays = new WeakMap<(label: string) => boolean, RecordedCommands>();
    const replay = (filter: DispatchFilter): RecordedCommands => {
      let commands = typeof filter === 'function' ? predicateReplays.get(filter) : replays.get(filter);
      if (!commands) {
        commands = recordCommands(segments, (segment) => (typeof filter === 'function' ? filter(segment.dispatch.label) : filter === 'all' || (filter === 'linear') === segment.linear));
        if (typeof filter === 'function') predicateReplays.set(filter, commands);
        else replays.set(filter, commands);
      }
      return commands;
    };
    const positionWords = new Uint32Array(4);
    return {
      tokens,
      tail,
      dispatchCount,
      linearDispatchCount,
      dispatchesByLabel,
      logits,
      setPosition(position: number): void {
        if (!Number.isInteger(position) || position < 0 || position + tokens > capacity) {
          throw new RangeError(`ForwardProgram.setPosition: position + tokens must fit the KV cache of ${capacity} (got ${position} + ${tokens})`);
        }
        positionWords[0] = position;
        device.queue.writeBuffer(buffers.position, 0, positionWords);
      },
      encode(encoder, options = {}): void {
        replay(options.filter ?? 'all').encode(encoder, { label: 'llama-forward', timestampWrites: singlePass ? options.timestampWrites : undefined });
      },
      destroy(): void {
        for (const resource of owned) resource.destroy();
      },
    };
  } catch (error) {
    for (const resource of owned) resource.destroy();
    throw error;
  }
}

/** Counts the compute dispatches the segments record, by encoding them into a counting stand-in pass. */
function countDispatches(segments: readonly Segment[]): number {
  let count = 0;
  const counter = {
    setPipeline() {},
    setBindGroup() {},
    dispatchWorkgroups() {
      count++;
    },
  } as unknown as GPUComputePassEncoder;
  for (const segment of segments) if (segment.kind === 'dispatch') segment.dispatch.encode(counter);
  return count;
}

/** A dense projection without a bias of its own: scaling its output by r equals scaling its input by r. */
function isDenseWithoutBias(linear: GpuLinear): boolean {
  return linear.kind === 'dense' && linear.bias === undefined;
}
