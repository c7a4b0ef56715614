import type { LlamaConfig } from '@vptq/loader';

/** The seven projections of a Llama decoder layer, by their Hugging Face names. */
export type LinearName = 'q_proj' | 'k_proj' | 'v_proj' | 'o_proj' | 'gate_proj' | 'up_proj' | 'down_proj';

/** Every {@link LinearName}, in the order a decoder layer applies them. */
export const linearNames: readonly LinearName[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

/** What one decoder projection must be: where it sits, its Hugging Face tensor prefix and its shape. */
export interface LinearSpec {
  /** Decoder layer index, 0-based. */
  readonly layer: number;
  readonly name: LinearName;
  /** Hugging Face tensor prefix, e.g. `model.layers.3.self_attn.q_proj` (append `.weight` / `.bias`). */
  readonly prefix: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Whether the layer carries a bias (q/k/v when `config.attentionBias`, Qwen2). */
  readonly bias: boolean;
}

/**
 * The specs of every decoder projection of `config`, layer by layer in {@link linearNames} order: q `[heads ×
 * headDim, hidden]`, k/v `[kvHeads × headDim, hidden]`, o `[hidden, heads × headDim]`, gate/up `[intermediate,
 * hidden]`, down `[hidden, intermediate]` (as `[outFeatures, inFeatures]`).
 */
export function listLinearSpecs(config: LlamaConfig): LinearSpec[] {
  const hidden = config.hiddenSize;
  const queryWidth = config.numAttentionHeads * config.headDim;
  const kvWidth = config.numKeyValueHeads * config.headDim;
  const intermediate = config.intermediateSize;
  const shapes: Record<LinearName, readonly [group: string, outFeatures: number, inFeatures: number]> = {
    q_proj: ['self_attn', queryWidth, hidden],
    k_proj: ['self_attn', kvWidth, hidden],
    v_proj: ['self_attn', kvWidth, hidden],
    o_proj: ['self_attn', hidden, queryWidth],
    gate_proj: ['mlp', intermediate, hidden],
    up_proj: ['mlp', intermediate, hidden],
    down_proj: ['mlp', hidden, intermediate],
  };
  const specs: LinearSpec[] = [];
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    for (const name of linearNames) {
      const [group, outFeatures, inFeatures] = shapes[name];
      specs.push({
        layer,
        name,
        prefix: `model.layers.${layer}.${group}.${name}`,
        inFeatures,
        outFeatures,
        bias: config.attentionBias && (name === 'q_proj' || name === 'k_proj' || name === 'v_proj'),
      });
    }
  }
  return specs;
}
