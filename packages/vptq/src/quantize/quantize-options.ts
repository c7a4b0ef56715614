import type { VptqLayoutOptions, VptqOptions } from '@vptq/codebook';
import type { FloatTensorDtype } from '@vptq/pack-format';

/** The quantization methods: VPTQ, and the two scalar baselines kept for side-by-side tables. */
export type QuantizeMethod = 'vptq' | 'gptq' | 'rtn';

/**
 * VPTQ settings shared by every linear layer (`shared_layer_config`-style): the `quantizeVptqLayer` options of
 * `@vptq/codebook` (named as the `VptqLayerConfig` fields they become), plus the column order. Defaults:
 * {@link quantizeDefaults}.
 */
export interface VptqSettings extends Partial<VptqLayoutOptions>, Pick<VptqOptions, 'kmeansIterations' | 'refineIterations' | 'refineTolerance'> {
  /** Column order by decreasing Hessian diagonal (`enable_perm`); false keeps the identity order. */
  readonly enablePerm?: boolean;
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
  /**
   * Positions per calibration window: the stream is cut into windows, each attending from position 0 (capped at
   * the model's `max_position_embeddings`).
   */
  readonly calibrationWindow?: number;
  /**
   * What the calibration activations go through to reach the next layer: `'original'`, the full-precision
   * layer (the reference's protocol, every layer's Hessians from the original model), or `'quantized'`, the
   * layer just quantized (GPTQ's sequential protocol: later layers see, and compensate, earlier layers' error).
   */
  readonly advanceThrough?: 'original' | 'quantized';
  /**
   * Where the work runs: `'cpu'` (the reference implementation), `'gpu'` (WebGPU: the adapter Dawn offers,
   * software ones such as lavapipe included), or `'auto'`: a hardware GPU when one is present, else the CPU.
   */
  readonly device?: 'auto' | 'cpu' | 'gpu';
  /** A WebGPU device to use when `device` is `'gpu'` (or `'auto'`) instead of creating one; the caller owns it. */
  readonly gpuDevice?: GPUDevice;
  /**
   * Projections of a layer quantized at once (VPTQ). On the GPU two (the default there) let one projection's host
   * work (reading and laying out the weight, k-means inputs, refit tables) run while the GPU works on the other,
   * at the cost of a second projection's buffers; 1 (the CPU's default) quantizes one after another. Above 1,
   * the next layer is also calibrated while this one's projections run (its projections queue behind them), at
   * the cost of that layer's Hessians on the device. `'auto'`: 2 on the GPU, 1 on the CPU. The output is the
   * same bytes whatever the value.
   */
  readonly projectionsInFlight?: number | 'auto';
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

/**
 * The phases of one layer: `replay` (a layer finished by an earlier run, advancing the activations), `calibrate`
 * (running the layer and accumulating its Hessians), `prepare` (damping, order and factorization of a Hessian),
 * `quantize` (one projection), `checkpoint`, `advance` (through the quantized layer).
 */
export type QuantizePhase = 'replay' | 'calibrate' | 'prepare' | 'quantize' | 'checkpoint' | 'advance';

/** What `quantize` reports while it runs. */
export type QuantizeEvent =
  | { readonly type: 'log'; readonly message: string }
  | { readonly type: 'phase'; readonly layer: number; readonly phase: QuantizePhase }
  | { readonly type: 'calibration'; readonly doneTokens: number; readonly totalTokens: number }
  | { readonly type: 'layer'; readonly layer: number; readonly layers: number; readonly resumed: boolean }
  | {
      /**
       * A projection's progress: `setup` (0) when it starts (reading its weight), then its quantizer's phases
       * (k-means, column loops, refinement) with the fraction done, and `done` (1) when it is quantized. With
       * `projectionsInFlight` > 1 the events of several projections interleave.
       */
      readonly type: 'linear';
      readonly layer: number;
      readonly name: string;
      readonly phase: string;
      readonly fraction: number;
    };
