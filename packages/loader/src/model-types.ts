/**
 * Which q/k components form a RoPE pair: `'interleaved'` rotates adjacent pairs (2i, 2i+1), as llama2.c and
 * Meta's original checkpoints do; `'half'` rotates (i, i + headDim/2), as Hugging Face's `rotate_half` does.
 */
export type RopeLayout = 'interleaved' | 'half';

/**
 * The architecture-level description of a Llama-family decoder, whatever file it came from.
 * Field names follow Hugging Face's config.json, in camelCase.
 */
export interface LlamaConfig {
  /** `'llama'`, `'mistral'` or `'qwen2'` (HF `model_type`); llama2.c checkpoints are `'llama'`. */
  readonly modelType: 'llama' | 'mistral' | 'qwen2';
  /** d_model. */
  readonly hiddenSize: number;
  /** FFN width (w1/w3 rows, w2 columns). */
  readonly intermediateSize: number;
  readonly numHiddenLayers: number;
  readonly numAttentionHeads: number;
  /** Grouped-query attention: number of key/value heads (divides numAttentionHeads). */
  readonly numKeyValueHeads: number;
  /** hiddenSize / numAttentionHeads unless the config says otherwise. */
  readonly headDim: number;
  readonly vocabSize: number;
  /** Context length the model was trained with (llama2.c `seq_len`, HF `max_position_embeddings`). */
  readonly maxPositionEmbeddings: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  /** How the q/k projection rows pair up for RoPE. */
  readonly ropeLayout: RopeLayout;
  /** The classifier shares the token-embedding matrix. */
  readonly tieWordEmbeddings: boolean;
  /** q/k/v projections carry a bias (Qwen2). */
  readonly attentionBias: boolean;
  /** How the RoPE frequencies are rescaled for long contexts (Llama 3.1+); absent: the plain `θ^(−2i/headDim)`. */
  readonly ropeScaling?: RopeScaling;
  /** Sliding-window attention (Mistral; Qwen2 with `use_sliding_window`); absent: every layer attends to all earlier positions. */
  readonly slidingWindow?: SlidingWindow;
  /** Token ids, when known. */
  readonly bosTokenId?: number;
  readonly eosTokenId?: number;
}

/**
 * Llama 3.1's RoPE frequency scaling (transformers `rope_type: "llama3"`, `_compute_llama3_parameters`). With
 * wavelength `λ = 2π / f` of a plain inverse frequency `f` and `L = originalMaxPositionEmbeddings`: `f` is kept
 * where `λ < L / highFreqFactor`, divided by `factor` where `λ > L / lowFreqFactor`, and in between interpolated as
 * `(1 − s) · f / factor + s · f` with `s = (L / λ − lowFreqFactor) / (highFreqFactor − lowFreqFactor)`.
 */
export interface RopeScaling {
  readonly type: 'llama3';
  /** Divisor of the low frequencies, ≥ 1 (32 for Llama 3.2). */
  readonly factor: number;
  /** `L / lowFreqFactor` is the longest wavelength left partly unscaled (1 for Llama 3.x). */
  readonly lowFreqFactor: number;
  /** `L / highFreqFactor` is the shortest wavelength scaled at all; greater than lowFreqFactor (4 for Llama 3.x). */
  readonly highFreqFactor: number;
  /** `L`: the context length of pre-training (8192 for Llama 3.x). */
  readonly originalMaxPositionEmbeddings: number;
}

/**
 * Sliding-window attention as transformers masks it (`kv_idx > q_idx − sliding_window`): in the listed layers
 * the query at position p attends to positions `max(0, p − size + 1) … p`, its own included, so `size` keys at
 * most; keys at `p − size` and before are masked.
 */
export interface SlidingWindow {
  /** Keys a query sees, its own included (HF `sliding_window`), ≥ 1. */
  readonly size: number;
  /** The decoder layers that use the window, 0-based and ascending (Mistral: all; Qwen2: those ≥ `max_window_layers`). */
  readonly layers: readonly number[];
}

/** One tensor as stored, before conversion: name, dtype and shape, without its data. */
export interface TensorInfo {
  readonly name: string;
  /** Storage dtype in the file. */
  readonly dtype:
    | 'F32'
    | 'F16'
    | 'BF16'
    | 'I32'
    | 'I16'
    | 'U8'
    | 'I64'
    | 'F64'
    | 'U16'
    | 'I8'
    | 'U32'
    | 'U64'
    | 'BOOL'
    | 'F8_E5M2'
    | 'F8_E4M3';
  /** Row-major shape, outermost first (`[outFeatures, inFeatures]` for a linear weight). */
  readonly shape: readonly number[];
}

/**
 * A model whose tensors are read lazily, one at a time, so a model larger than memory can be walked layer
 * by layer. Tensor names are Hugging Face Llama names whatever the source format:
 * `model.embed_tokens.weight`, `model.layers.{i}.input_layernorm.weight`,
 * `model.layers.{i}.self_attn.{q,k,v,o}_proj.weight`, `model.layers.{i}.post_attention_layernorm.weight`,
 * `model.layers.{i}.mlp.{gate,up,down}_proj.weight`, `model.norm.weight`, `lm_head.weight` (absent when tied).
 * llama2.c `w1` is `gate_proj`, `w3` is `up_proj`, `w2` is `down_proj`.
 */
export interface ModelSource {
  /** Where the model came from (a file or directory path, a URL), for error messages. */
  readonly path: string;
  readonly format: 'llama2c' | 'hf' | 'vptq';
  readonly config: LlamaConfig;
  /** Every tensor in the model, in file order. */
  readonly tensors: readonly TensorInfo[];
  /**
   * Reads one tensor and converts it to f32 (F16/BF16 widened exactly).
   * @throws {LoaderError} naming the file and the tensor when it is missing, truncated or holds NaN/Inf, or
   * (VPTQ_LOADER_NOT_PREFETCHED) when the model reads asynchronously and the tensor was not prefetched.
   */
  readTensor(name: string): Float32Array;
  /**
   * Makes the named tensors readable. A model opened from a URL or a `Blob` (whose files answer reads with
   * Promises) fetches their stored bytes here, coalescing neighbours into few requests, and keeps them until the
   * next `prefetch` or `close()`: there, `readTensor` (and `readQuantizedLayer`) read only prefetched tensors, so
   * memory holds one working set (a decoder layer, say) at a time. A model read from local files or memory
   * resolves at once and reads anything. Names are those of `tensors`; a VPTQ model also takes the names of
   * `quantizedLayers`.
   * @throws {LoaderError} (as a rejection) VPTQ_LOADER_UNKNOWN_TENSOR, VPTQ_LOADER_CLOSED, VPTQ_LOADER_IO or
   * VPTQ_LOADER_TRUNCATED naming the file.
   */
  prefetch(names: readonly string[]): Promise<void>;
  /** Releases open file handles and prefetched bytes. */
  close(): void;
}

/** A text tokenizer (llama2.c `.bin` or Hugging Face `tokenizer.json`). */
export interface Tokenizer {
  readonly vocabSize: number;
  /** Beginning-of-sequence id (1 for llama2.c tokenizers). */
  readonly bosId: number;
  /** End-of-sequence id (2 for llama2.c tokenizers). */
  readonly eosId: number;
  /** Token ids of `text`, with a leading BOS when `options.bos` is true (default false). */
  encode(text: string, options?: { readonly bos?: boolean; readonly eos?: boolean }): number[];
  /** The text of `ids`, joined as a streaming decoder would print them. */
  decode(ids: readonly number[]): string;
  /** The text printed for `token` when it follows `previous` (llama2.c drops the space after BOS). */
  decodeToken(previous: number, token: number): string;
}
