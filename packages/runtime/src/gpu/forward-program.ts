import {
  createAddDispatch,
  createArgmaxDispatch,
  createAttentionDispatch,
  createEmbeddingDispatch,
  createRmsNormDispatch,
  createRopeDispatch,
  createSwigluDispatch,
  createUniformBuffer,
  packParams,
} from '@vptq/kernels-webgpu';
import type { AttentionDispatch, KernelDispatch, RopeDispatch } from '@vptq/kernels-webgpu';

import type { GpuLinear, LinearRecordContext } from './gpu-linear';
import { recordLinear } from './gpu-linear';
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

/** Which dispatches {@link ForwardProgram.encode} records: all, only the projections, or all but them. */
export type DispatchFilter = 'all' | 'linear' | 'other';

/**
 * Every dispatch of one forward pass over a fixed number of tokens, created once (pipelines, bind groups,
 * uniforms) and encoded into a fresh command encoder per call; only positions change between calls.
 */
export interface ForwardProgram {
  readonly tokens: number;
  readonly tail: ProgramTail;
  /** Compute dispatches per encode (all filters). */
  readonly dispatchCount: number;
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
 * Records the Llama forward pass over `tokens` positions: embedding; per layer RMSNorm, q/k/v projections,
 * RoPE, KV append, GQA attention over the cache, o projection and residual add, RMSNorm, gate/up, SwiGLU,
 * down projection and residual add; then the final RMSNorm and classifier as `tail` asks.
 */
export async function buildForwardProgram(
  device: GPUDevice,
  weights: GpuLlamaWeights,
  buffers: ModelBuffers,
  tokens: number,
  tail: ProgramTail,
  context: LinearRecordContext,
): Promise<ForwardProgram> {
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
    const rope = { tokens, headDim: config.headDim, theta: config.ropeTheta, layout: config.ropeLayout };
    const ropeQuery: RopeDispatch = await createRopeDispatch(device, { values: buffers.q }, { ...rope, heads: config.numAttentionHeads });
    const ropeKey: RopeDispatch = await createRopeDispatch(device, { values: buffers.k }, { ...rope, heads: config.numKeyValueHeads });
    owned.push(ropeQuery, ropeKey);
    const attentions: AttentionDispatch[] = [];
    const norm = (x: GPUBuffer, weight: GPUBuffer, y: GPUBuffer, rows: number) =>
      createRmsNormDispatch(device, { x, weight, y }, { rows, cols: hidden, epsilon: config.rmsNormEps });

    add(await createEmbeddingDispatch(device, { tokens: buffers.tokens, table: weights.embedTokens, output: buffers.x }, tokens));
    for (const [index, layer] of weights.layers.entries()) {
      const { linears } = layer;
      add(await norm(buffers.x, layer.inputNorm, buffers.normed, tokens));
      await linear(linears.q_proj, buffers.normed, buffers.q);
      await linear(linears.k_proj, buffers.normed, buffers.k);
      await linear(linears.v_proj, buffers.normed, buffers.v);
      segments.push({ kind: 'dispatch', dispatch: ropeQuery, linear: false });
      segments.push({ kind: 'dispatch', dispatch: ropeKey, linear: false });
      add(
        await createKvAppendDispatch(
          device,
          {
            keys: buffers.k,
            values: buffers.v,
            keyCache: buffers.keyCache[index],
            valueCache: buffers.valueCache[index],
            shape: kvShape,
            state: buffers.kvState,
          },
          tokens,
          kvWidth,
        ),
      );
      const attention = await createAttentionDispatch(
        device,
        { query: buffers.q, keys: buffers.keyCache[index], values: buffers.valueCache[index], output: buffers.attention },
        { tokens, heads: config.numAttentionHeads, kvHeads: config.numKeyValueHeads, headDim: config.headDim },
      );
      attentions.push(attention);
      add(attention);
      await linear(linears.o_proj, buffers.attention, buffers.projected);
      add(await createAddDispatch(device, { addend: buffers.projected, accumulator: buffers.x }, tokens * hidden));
      add(await norm(buffers.x, layer.postAttentionNorm, buffers.normed, tokens));
      await linear(linears.gate_proj, buffers.normed, buffers.gate);
      await linear(linears.up_proj, buffers.normed, buffers.up);
      add(await createSwigluDispatch(device, { gate: buffers.gate, up: buffers.up, output: buffers.activated }, tokens * config.intermediateSize));
      await linear(linears.down_proj, buffers.activated, buffers.projected);
      add(await createAddDispatch(device, { addend: buffers.projected, accumulator: buffers.x }, tokens * hidden));
    }

    const classifier: GpuLinear = {
      kind: 'dense',
      inFeatures: hidden,
      outFeatures: config.vocabSize,
      weights: weights.lmHead,
      bias: undefined,
      byteLength: 0,
      destroy() {},
    };
    let logits: GPUBuffer | undefined;
    if (tail === 'all') {
      logits = buffers.allLogits();
      add(await norm(buffers.x, weights.norm, buffers.normed, tokens));
      await linear(classifier, buffers.normed, logits);
    } else if (tail !== 'none') {
      logits = buffers.lastLogits;
      let last = buffers.x;
      if (tokens > 1) {
        // A binding offset would have to be a multiple of 256 bytes; a copy between passes has no such rule.
        segments.push({ kind: 'copy', source: buffers.x, sourceOffset: (tokens - 1) * hidden * 4, target: buffers.lastRow, size: hidden * 4 });
        last = buffers.lastRow;
      }
      add(await norm(last, weights.norm, buffers.lastNormed, 1));
      await linear(classifier, buffers.lastNormed, logits, 1);
      if (tail === 'argmax') {
        add(await createArgmaxDispatch(device, { logits, indices: { buffer: buffers.tokens, offset: 0, size: 16 } }, { rows: 1, cols: config.vocabSize }));
      }
    }

    const dispatchCount = countDispatches(segments);
    const singlePass = !segments.some((segment) => segment.kind === 'copy');
    return {
      tokens,
      tail,
      dispatchCount,
      logits,
      setPosition(position: number): void {
        ropeQuery.setPosition(position);
        ropeKey.setPosition(position);
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
          if (filter !== 'all' && (filter === 'linear') !== segment.linear) continue;
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
