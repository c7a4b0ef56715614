import { createAddDispatch, createArgmaxDispatch, createAttentionDispatch, createEmbeddingDispatch, createRmsNormDispatch, createRopeDispatch, createSwigluDispatch } from '@vptq/kernels-webgpu';
import { createUniformBuffer, packParams } from '@vptq/kernels-webgpu/authoring';
import type { AttentionDispatch, KernelDispatch, RopeDispatch } from '@vptq/kernels-webgpu';
import type { LinearInput } from '@vptq/loader';

import { layerWindows } from '../layer-windows';
import { ropeInverseFrequencies } from '../rope';
import type { GpuLinear, LinearRecordContext } from './gpu-linear';
import { canFoldResidual, canFoldRmsNorm, canFoldSwiglu, recordLinear } from './gpu-linear';
import type { GpuLlamaWeights } from './gpu-llama-weights';
import { createKvAppendDispatch } from './kv-append';

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
  /** Uniform `{ position: u32 }` shared by every KV-append dispatch. */
  readonly kvState: GPUBuffer;
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
  /** Writes the first position into every position-dependent uniform (RoPE, attention, KV append). */
  setPosition(position: number): void;
  /**
   * Records the pass (or passes, when the last row must be copied out) into `encoder`.
   *
   * @param options.timestampWrites - given to the first compute pass when the program has exactly one.
   */
  encode(encoder: GPUCommandEncoder, options?: { readonly filter?: DispatchFilter; readonly timestampWrites?: GPUComputePassTimestampWrites }): void;
  destroy(): void;
}

type Segment =
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
}

/**
 * Records the Llama forward pass over `tokens` positions: embedding; per layer RMSNorm, q/k/v projections,
 * RoPE (at the CPU decoder's frequencies), KV append, GQA attention over the cache (within the layer's sliding
 * window, if any), o projection and residual add, RMSNorm, gate/up, SwiGLU,
 * down projection and residual add; then the final RMSNorm and classifier as `tail` asks. A single-token
 * program (decode) trims dispatches where the widths allow (256-byte aligned offsets): q|k|v adjacent with
 * one RoPE over q and k, stacked dense q/k/v and gate/up GEMVs, and the residual adds folded into the o and
 * down projections' bias input (10 dispatches per dense layer instead of 16); packed projections also read
 * SwiGLU's output from [gate | up] themselves and, where the norm gains are folded into them (see
 * `GpuLayerWeights.gainsFolded`) and their workgroups see whole rows, RMS-normalize their input (7 per layer).
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
    const kvShape = createUniformBuffer(device, 'kv-append', packParams([['u32', tokens], ['u32', kvWidth]]));
    owned.push(kvShape);
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
    const rope = { tokens, headDim: config.headDim, inverseFrequencies, layout: config.ropeLayout };
    const windows = layerWindows(config);
    const ropes: RopeDispatch[] = packedQkv
      ? [await createRopeDispatch(device, { values: range(buffers.qkv, 0, queryWidth + kvWidth) }, { ...rope, heads: heads + kvHeads })]
      : [
          await createRopeDispatch(device, { values: buffers.q }, { ...rope, heads }),
          await createRopeDispatch(device, { values: buffers.k }, { ...rope, heads: kvHeads }),
        ];
    owned.push(...ropes);
    const attentions: AttentionDispatch[] = [];
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
      const normalizeQkv = inKernelNorm(layer.gainsFolded?.input, qkvStacked ? [qkvStacked] : [linears.q_proj, linears.k_proj, linears.v_proj]);
      if (!normalizeQkv) add(await norm(buffers.x, layer.inputNorm, buffers.normed, tokens));
      const qkvInput = normalizeQkv ? buffers.x : buffers.normed;
      if (!normalizeQkv) capture(index, 'attention-input', buffers.normed, hidden);
      const qkvExtras = normalizeQkv ? normalize : {};
      if (qkvStacked) {
        add(await recordLinear(device, qkvStacked, qkvInput, buffers.qkv, tokens, context, qkvExtras), true);
      } else {
        add(await recordLinear(device, linears.q_proj, qkvInput, query, tokens, context, qkvExtras), true);
        add(await recordLinear(device, linears.k_proj, qkvInput, key, tokens, context, qkvExtras), true);
        add(await recordLinear(device, linears.v_proj, qkvInput, value, tokens, context, qkvExtras), true);
      }
      for (const dispatch of ropes) segments.push({ kind: 'dispatch', dispatch, linear: false });
      const caches = { keyCache: buffers.keyCache[position], valueCache: buffers.valueCache[position] };
      add(await createKvAppendDispatch(device, { keys: key, values: value, ...caches, shape: kvShape, state: buffers.kvState }, tokens, kvWidth));
      const attention = await createAttentionDispatch(
        device,
        { query, keys: caches.keyCache, values: caches.valueCache, output: buffers.attention },
        { tokens, heads, kvHeads, headDim: config.headDim, window: windows[index] === 0 ? undefined : windows[index] },
      );
      attentions.push(attention);
      add(attention);
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
      const normalizeGateUp = inKernelNorm(layer.gainsFolded?.postAttention, gateUpStacked ? [gateUpStacked] : [linears.gate_proj, linears.up_proj]);
      if (!normalizeGateUp) add(await norm(stream, layer.postAttentionNorm, buffers.normed, tokens));
      const mlpInput = normalizeGateUp ? stream : buffers.normed;
      if (!normalizeGateUp) capture(index, 'mlp-input', buffers.normed, hidden);
      const mlpExtras = normalizeGateUp ? normalize : {};
      if (gateUpStacked) {
        add(await recordLinear(device, gateUpStacked, mlpInput, buffers.gateUp, tokens, context, mlpExtras), true);
      } else {
        add(await recordLinear(device, linears.gate_proj, mlpInput, gate, tokens, context, mlpExtras), true);
        add(await recordLinear(device, linears.up_proj, mlpInput, up, tokens, context, mlpExtras), true);
      }
      // A packed down projection of a decoded token reads silu(gate) · up from [gate | up] itself.
      const gated = packedGateUp && canFoldSwiglu(linears.down_proj, tokens);
      if (!gated) add(await createSwigluDispatch(device, { gate, up, output: buffers.activated }, tokens * intermediate));
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
    return {
      tokens,
      tail,
      dispatchCount,
      linearDispatchCount,
      dispatchesByLabel,
      logits,
      setPosition(position: number): void {
        for (const rotation of ropes) rotation.setPosition(position);
        for (const attention of attentions) attention.setPosition(position);
        device.queue.writeBuffer(buffers.kvState, 0, new Uint32Array([position, 0, 0, 0]));
      },
      encode(encoder, options = {}): void {
        const filter = options.filter ?? 'all';
        let pass: GPUComputePassEncoder | undefined;
        for (const segment of segments) {
          if (segment.kind === 'copy') {
            pass?.end();
            pass = undefined;
            encoder.copyBufferToBuffer(segment.source, segment.sourceOffset, segment.target, 0, segment.size);
            continue;
          }
          if (typeof filter === 'function' ? !filter(segment.dispatch.label) : filter !== 'all' && (filter === 'linear') !== segment.linear) continue;
          pass ??= encoder.beginComputePass({
            label: 'llama-forward',
            timestampWrites: singlePass ? options.timestampWrites : undefined,
          });
          segment.dispatch.encode(pass);
        }
        pass?.end();
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
