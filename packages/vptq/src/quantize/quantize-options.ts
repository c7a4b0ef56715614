import type { FloatTensorDtype } from '@vptq/pack-format';

/** The quantization methods: VPTQ, and the two scalar baselines kept for side-by-side tables. */
export type QuantizeMethod = 'vptq' | 'gptq' | 'rtn';

/**
 * VPTQ settings shared by every linear layer (`shared_layer_config`-style), named as the `VptqLayerConfig` fields
 * (`@vptq/pack-format`) and `quantizeVptqLayer` options (`@vptq/codebook`) they become. Defaults:
 * {@link quantizeDefaults}.
 */
export interface VptqSettings {
  /** v: output rows per vector. */
  readonly vectorLength?: number;
  /** K: main codebook entries (power of two); log2 K / v index bits per weight. */
  readonly numCentroids?: number;
  /** Kr: residual codebook entries (power of two), 0 for none; adds log2 Kr / v index bits. */
  readonly numResidualCentroids?: number;
  /** Share of input columns (by Hessian diagonal) in the outlier part, in percent; 0 for none. */
  readonly outlierPercent?: number;
  /** vo: outlier vector length (≥ 2), when `outlierPercent` > 0. */
  readonly outlierVectorLength?: number;
  /** Ko: outlier codebook entries, when `outlierPercent` > 0. */
  readonly numOutlierCentroids?: number;
  /** G: codebooks per layer. */
  readonly groupNum?: number;
  /** Per-column min–max normalization (`enable_norm`). */
  readonly enableNorm?: boolean;
  /** Column order by decreasing Hessian diagonal (`enable_perm`). */
  readonly enablePerm?: boolean;
  /** Most k-means iterations per codebook. */
  readonly kmeansIterations?: number;
  /**
   * Rounds of closed-form codebook refinement (exact least-squares refit of the codebooks under the layer
   * Hessian, then the column loop again); 0 is the reference's behaviour.
   */
  readonly refineIterations?: number;
}

/** Options of `quantize`; every setting left out takes its value from {@link quantizeDefaults}. */
export interface QuantizeOptions extends VptqSettings {
  /** llama2.c `.bin` or Hugging Face Llama-family directory. */
  readonly model: string;
  /** Tokenizer (file or directory); default found beside the model. */
  readonly tokenizer?: string;
  /** UTF-8 calibration text file. */
  readonly calibration: string;
  /** Output directory (a complete Hugging Face directory). */
  readonly out: string;
  /** `'vptq'`, or a scalar baseline. */
  readonly method?: QuantizeMethod;
  /** Bits per weight of the scalar baselines (`gptq`, `rtn`), 1..8. */
  readonly bits?: number;
  /** Most calibration tokens. */
  readonly calibrationTokens?: number;
  /** Storage of codebooks and norm vectors in the packed layers (`'F16'` as published VPTQ models). */
  readonly dtype?: FloatTensorDtype;
  /** Relative damping of the Hessian (each of the two dampings of spec §1.2). */
  readonly damp?: number;
  /** Seed of every random choice (per-layer seeds derive from it). */
  readonly seed?: number;
  /**
   * Write settings whose files the reference implementation (microsoft/VPTQ) would decode wrongly (Kr > K,
   * several groups with Kr ≠ K, packed rows of 16 bits or fewer; `findReferenceMisreads` in
   * `@vptq/pack-format`), with a warning. When false, such settings are refused before any work starts.
   */
  readonly allowReferenceMisreads?: boolean;
  /** Replace an existing output directory. Default false. */
  readonly overwrite?: boolean;
  /** Progress and log events. */
  readonly onEvent?: (event: QuantizeEvent) => void;
}

/** What `quantize` reports while it runs. */
export type QuantizeEvent =
  | { readonly type: 'log'; readonly message: string }
  | { readonly type: 'calibration'; readonly doneTokens: number; readonly totalTokens: number }
  | { readonly type: 'layer'; readonly layer: number; readonly layers: number; readonly resumed: boolean }
  | {
      readonly type: 'linear';
      readonly layer: number;
      readonly name: string;
      readonly phase: string;
      readonly fraction: number;
    };
