/** The quantization methods: VPTQ, and the two scalar baselines kept for side-by-side tables. */
export type QuantizeMethod = 'vptq' | 'gptq' | 'rtn';

/** VPTQ settings shared by every linear layer (`shared_layer_config`-style). */
export interface VptqSettings {
  /** v: output rows per vector. Default 4. */
  readonly vectorLength?: number;
  /** K: main codebook entries (power of two). Default 256 (log2 K / v = 2 index bits at v = 4). */
  readonly centroids?: number;
  /** Kr: residual codebook entries (power of two), 0 for none. Default 0. */
  readonly residualCentroids?: number;
  /** Share of input columns (by Hessian diagonal) in the outlier part, in percent. Default 0. */
  readonly outlierPercent?: number;
  /** vo: outlier vector length. Default 4 when outliers are on. */
  readonly outlierVectorLength?: number;
  /** Ko: outlier codebook entries. Default 256 when outliers are on. */
  readonly outlierCentroids?: number;
  /** G: codebooks per layer. Default 1. */
  readonly groups?: number;
  /** Per-column min–max normalization (`enable_norm`). Default true. */
  readonly norm?: boolean;
  /** Column order by decreasing Hessian diagonal (`enable_perm`). Default true. */
  readonly perm?: boolean;
  /** Most k-means iterations per codebook. Default 100. */
  readonly kmeansIterations?: number;
  /**
   * Rounds of closed-form codebook refinement (exact least-squares refit of the codebooks under the layer
   * Hessian, then the column loop again); 0 is the reference's behaviour. Default 16.
   */
  readonly refineIterations?: number;
}

/** Options of `quantize`. */
export interface QuantizeOptions extends VptqSettings {
  /** llama2.c `.bin` or Hugging Face Llama-family directory. */
  readonly model: string;
  /** Tokenizer (file or directory); default found beside the model. */
  readonly tokenizer?: string;
  /** UTF-8 calibration text file. */
  readonly calibration: string;
  /** Output directory (a complete Hugging Face directory). */
  readonly out: string;
  /** Default `'vptq'`. */
  readonly method?: QuantizeMethod;
  /** Bits per weight of the scalar baselines (`gptq`, `rtn`), 1..8. Default 2. */
  readonly bits?: number;
  /** Most calibration tokens. Default 65536. */
  readonly calibrationTokens?: number;
  /** Storage of codebooks and norm vectors in the packed layers. Default `'F16'` (as published VPTQ models). */
  readonly dtype?: 'F16' | 'BF16' | 'F32';
  /** Relative damping of the Hessian (each of the two dampings of spec §1.2). Default 0.01. */
  readonly damp?: number;
  /** Seed of every random choice (per-layer seeds derive from it). Default 0. */
  readonly seed?: number;
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
