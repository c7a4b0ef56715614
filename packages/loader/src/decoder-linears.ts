import type { LlamaConfig } from './model-types';

/** The seven projections (`nn.Linear`) of a Llama-family decoder layer, by their Hugging Face names. */
export type LinearName = 'q_proj' | 'k_proj' | 'v_proj' | 'o_proj' | 'gate_proj' | 'up_proj' | 'down_proj';

/**
 * The activation a projection reads. Projections with the same input read the same rows, so they can share one
 * Hessian E[xxᵀ] and run stacked as one matrix: `'attention-input'` is the input RMSNorm's output (q/k/v),
 * `'attention-output'` the attention heads' output (o), `'mlp-input'` the post-attention RMSNorm's output
 * (gate/up), `'mlp-hidden'` `silu(gate) · up` (down).
 */
export type LinearInput = 'attention-input' | 'attention-output' | 'mlp-input' | 'mlp-hidden';

/** One projection of a decoder layer as the architecture defines it, whatever the layer or the sizes. */
export interface DecoderLinear {
  readonly name: LinearName;
  /** The submodule that holds it: Hugging Face `self_attn` or `mlp`. */
  readonly module: 'self_attn' | 'mlp';
  readonly input: LinearInput;
  /** `[outFeatures, inFeatures]` of its weight under `config`. */
  shape(config: LlamaConfig): readonly [outFeatures: number, inFeatures: number];
  /** Whether `config` gives it a bias `[outFeatures]`. */
  bias(config: LlamaConfig): boolean;
}

const queryWidth = (config: LlamaConfig): number => config.numAttentionHeads * config.headDim;
const kvWidth = (config: LlamaConfig): number => config.numKeyValueHeads * config.headDim;
const attentionBias = (config: LlamaConfig): boolean => config.attentionBias;
// mlp_bias is rejected when a config is parsed, so the MLP never has biases.
const noBias = (): boolean => false;

/**
 * The projections of every decoder layer, in the order a layer applies them (HF module order): the one table
 * of names, shapes, biases and shared inputs that the loader's tensor checks, the runtime's models and the
 * quantizer all read.
 */
export const decoderLinears: readonly DecoderLinear[] = [
  { name: 'q_proj', module: 'self_attn', input: 'attention-input', shape: (c) => [queryWidth(c), c.hiddenSize], bias: attentionBias },
  { name: 'k_proj', module: 'self_attn', input: 'attention-input', shape: (c) => [kvWidth(c), c.hiddenSize], bias: attentionBias },
  { name: 'v_proj', module: 'self_attn', input: 'attention-input', shape: (c) => [kvWidth(c), c.hiddenSize], bias: attentionBias },
  // transformers' LlamaAttention builds o_proj with bias=config.attention_bias too; Qwen2Attention never gives it one.
  { name: 'o_proj', module: 'self_attn', input: 'attention-output', shape: (c) => [c.hiddenSize, queryWidth(c)], bias: (c) => c.attentionBias && c.modelType !== 'qwen2' },
  { name: 'gate_proj', module: 'mlp', input: 'mlp-input', shape: (c) => [c.intermediateSize, c.hiddenSize], bias: noBias },
  { name: 'up_proj', module: 'mlp', input: 'mlp-input', shape: (c) => [c.intermediateSize, c.hiddenSize], bias: noBias },
  { name: 'down_proj', module: 'mlp', input: 'mlp-hidden', shape: (c) => [c.hiddenSize, c.intermediateSize], bias: noBias },
];

/** One decoder projection of a model: where it sits, its Hugging Face tensor prefix, its shape, bias and input. */
export interface LinearSpec {
  /** Decoder layer index, 0-based. */
  readonly layer: number;
  readonly name: LinearName;
  /** Hugging Face module name, e.g. `model.layers.3.self_attn.q_proj`; its tensors are `<prefix>.weight` and `<prefix>.bias`. */
  readonly prefix: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Whether it carries a bias `[outFeatures]` (see {@link decoderLinears}). */
  readonly bias: boolean;
  /** What it reads; projections of one layer with the same input read the same activations. */
  readonly input: LinearInput;
}

/**
 * The specs of every decoder projection of `config`, layer by layer in {@link decoderLinears} order: q `[heads ×
 * headDim, hidden]`, k/v `[kvHeads × headDim, hidden]`, o `[hidden, heads × headDim]`, gate/up `[intermediate,
 * hidden]`, down `[hidden, intermediate]` (as `[outFeatures, inFeatures]`); q/k/v with a bias when
 * `config.attentionBias`, o too unless the model is Qwen2.
 */
export function listLinearSpecs(config: LlamaConfig): LinearSpec[] {
  const specs: LinearSpec[] = [];
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    for (const linear of decoderLinears) {
      const [outFeatures, inFeatures] = linear.shape(config);
      specs.push({
        layer,
        name: linear.name,
        prefix: `model.layers.${layer}.${linear.module}.${linear.name}`,
        inFeatures,
        outFeatures,
        bias: linear.bias(config),
        input: linear.input,
      });
    }
  }
  return specs;
}

/**
 * The tensors of decoder layer `layer` under Hugging Face names: its two RMSNorm gains, then each projection's
 * `<prefix>.weight` and, where {@link listLinearSpecs} gives it one, `<prefix>.bias`. What a layer-by-layer
 * reader of a model opened from a URL or a Blob passes to `ModelSource.prefetch` before reading the layer.
 *
 * @throws {RangeError} if `layer` is not an integer in `[0, config.numHiddenLayers)`.
 */
export function listLayerTensorNames(config: LlamaConfig, layer: number): string[] {
  if (!Number.isInteger(layer) || layer < 0 || layer >= config.numHiddenLayers) {
    throw new RangeError(`listLayerTensorNames: layer must be an integer in [0, ${config.numHiddenLayers}) (got ${layer})`);
  }
  const names = [`model.layers.${layer}.input_layernorm.weight`, `model.layers.${layer}.post_attention_layernorm.weight`];
  for (const spec of listLinearSpecs(config)) {
    if (spec.layer !== layer) continue;
    names.push(`${spec.prefix}.weight`);
    if (spec.bias) names.push(`${spec.prefix}.bias`);
  }
  return names;
}
