import type { LinearName, LlamaConfig } from '@vptq/loader';
import { maxAbsDifference } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { createCpuModel } from './create-cpu-model';
import { createDenseLinear } from './dense-linear';
import type { LinearInputEvent } from './language-model';
import type { Linear } from './linear';
import { loadWeights, readDenseLinear } from './load-weights';
import { flatten, referenceLogits } from './test/reference-forward';
import { LlamaRuntimeError } from './runtime-error';
import { createSyntheticSource } from './test/synthetic-model';

const sequence = [1, 5, 9, 3, 30, 12, 7, 7, 21, 4, 33, 18];

describe('createCpuModel', () => {
  const variants: Array<[string, Partial<LlamaConfig>]> = [
    ['llama2.c style (interleaved RoPE, tied classifier, grouped-query)', {}],
    ['HF style (half RoPE, separate lm_head, theta 1e6)', { ropeLayout: 'half', tieWordEmbeddings: false, ropeTheta: 1e6 }],
    ['Qwen2 style (q/k/v bias)', { attentionBias: true, modelType: 'qwen2', ropeLayout: 'half' }],
    ['Llama with attention_bias (q/k/v/o bias)', { attentionBias: true, ropeLayout: 'half' }],
    ['multi-head, three layers', { numKeyValueHeads: 4, numHiddenLayers: 3 }],
  ];
  for (const [name, overrides] of variants) {
    it(`matches a plain reference forward pass: ${name}`, () => {
      const source = createSyntheticSource(overrides, 3);
      const model = createCpuModel(loadWeights(source));
      const got = model.forward(sequence, 0, { allLogits: true });
      expect(got.length).toBe(sequence.length * source.config.vocabSize);
      const expected = flatten(referenceLogits(source.config, source.store, sequence));
      expect(maxAbsDifference(got, expected)).toBeLessThan(1e-4);
    });
  }

  it('gives the same logits batched as token by token through step()', () => {
    const model = createCpuModel(loadWeights(createSyntheticSource({}, 4)));
    const batched = model.forward(sequence, 0, { allLogits: true });
    const vocab = model.config.vocabSize;
    model.reset();
    sequence.forEach((token, position) => {
      const logits = model.step(token, position);
      expect(maxAbsDifference(logits, batched.subarray(position * vocab, (position + 1) * vocab))).toBeLessThan(1e-5);
    });
  });

  it('continues a cached prefix with a second window as if run in one', () => {
    const model = createCpuModel(loadWeights(createSyntheticSource({}, 5)));
    const whole = model.forward(sequence, 0, { allLogits: true });
    model.reset();
    model.forward(sequence.slice(0, 5), 0);
    const rest = model.forward(sequence.slice(5), 5, { allLogits: true });
    expect(maxAbsDifference(rest, whole.subarray(5 * model.config.vocabSize))).toBeLessThan(1e-5);
    expect(model.cachedPositions).toBe(sequence.length);
  });

  it('returns only the last position unless asked for all', () => {
    const model = createCpuModel(loadWeights(createSyntheticSource({}, 6)));
    const all = model.forward(sequence, 0, { allLogits: true });
    model.reset();
    const last = model.forward(sequence, 0);
    expect(last.length).toBe(model.config.vocabSize);
    expect(maxAbsDifference(last, all.subarray(all.length - last.length))).toBeLessThan(1e-6);
  });

  it('restarts cleanly after reset() and after rewinding to an earlier position', () => {
    const source = createSyntheticSource({}, 7);
    const fresh = createCpuModel(loadWeights(source)).forward([1, 8, 2], 0, { allLogits: true });
    const model = createCpuModel(loadWeights(source));
    model.forward(sequence, 0);
    model.reset();
    expect(model.cachedPositions).toBe(0);
    expect(model.forward([1, 8, 2], 0, { allLogits: true })).toEqual(fresh);
    model.forward(sequence, 0);
    const rewound = model.forward([8, 2], 1, { allLogits: true });
    model.reset();
    model.forward([1], 0);
    expect(maxAbsDifference(rewound, fresh.subarray(model.config.vocabSize))).toBeLessThan(1e-6);
    expect(() => model.forward([3], 4)).toThrow(/startPosition must be an integer between 0 and the 1 cached positions \(got 4\)/);
  });

  it('computes the same function with half-layout RoPE on permuted q/k rows as with interleaved RoPE', () => {
    const source = createSyntheticSource({}, 8);
    const interleaved = createCpuModel(loadWeights(source)).forward(sequence, 0, { allLogits: true });
    const { headDim } = source.config;
    // HF's conversion from Meta/llama2.c checkpoints: within each head, row 2i + a moves to a·headDim/2 + i.
    const permuteRows = (weight: Float32Array, inFeatures: number): Float32Array => {
      const out = new Float32Array(weight.length);
      const rows = weight.length / inFeatures;
      for (let head = 0; head < rows / headDim; head++) {
        for (let i = 0; i < headDim / 2; i++) {
          for (const a of [0, 1]) {
            const from = (head * headDim + 2 * i + a) * inFeatures;
            const to = (head * headDim + a * (headDim / 2) + i) * inFeatures;
            out.set(weight.subarray(from, from + inFeatures), to);
          }
        }
      }
      return out;
    };
    const permuted = {
      config: { ...source.config, ropeLayout: 'half' as const },
      readTensor: (name: string): Float32Array =>
        /\.(q|k)_proj\.weight$/.test(name) ? permuteRows(source.readTensor(name), source.config.hiddenSize) : source.readTensor(name),
    };
    const half = createCpuModel(loadWeights(permuted)).forward(sequence, 0, { allLogits: true });
    expect(maxAbsDifference(half, interleaved)).toBeLessThan(1e-5);
  });

  it('reports the input of every projection to onLinearInput, exactly what the linears receive', () => {
    const seen = new Map<string, Float32Array[]>();
    const recording = (key: string, linear: Linear): Linear => ({
      inFeatures: linear.inFeatures,
      outFeatures: linear.outFeatures,
      forward(input, tokens) {
        seen.set(key, [...(seen.get(key) ?? []), input.slice()]);
        return linear.forward(input, tokens);
      },
    });
    const source = createSyntheticSource({}, 9);
    const weights = loadWeights(source, {
      createLinear: (spec) =>
        recording(
          `${spec.layer}.${spec.name}`,
          createDenseLinear(source.readTensor(`${spec.prefix}.weight`), { outFeatures: spec.outFeatures, inFeatures: spec.inFeatures }),
        ),
    });
    const model = createCpuModel(weights);
    const events: Array<Omit<LinearInputEvent, 'input'> & { input: Float32Array }> = [];
    model.forward(sequence.slice(0, 6), 0, { onLinearInput: (event) => events.push({ ...event, input: event.input.slice() }) });
    expect(events.map((event) => `${event.layer}:${event.projections.join(',')}`)).toEqual([
      '0:q_proj,k_proj,v_proj',
      '0:o_proj',
      '0:gate_proj,up_proj',
      '0:down_proj',
      '1:q_proj,k_proj,v_proj',
      '1:o_proj',
      '1:gate_proj,up_proj',
      '1:down_proj',
    ]);
    expect(events.slice(0, 4).map((event) => event.group)).toEqual(['attention-input', 'attention-output', 'mlp-input', 'mlp-hidden']);
    for (const event of events) {
      expect(event.tokens).toBe(6);
      expect(event.input.length).toBe(6 * event.inFeatures);
      for (const name of event.projections as LinearName[]) {
        expect(seen.get(`${event.layer}.${name}`)?.[0]).toEqual(event.input);
      }
    }
    expect(events[3].inFeatures).toBe(source.config.intermediateSize);
  });

  it('keeps only the positions before a window whose forward pass failed', () => {
    const source = createSyntheticSource({}, 12);
    let failing = false;
    const model = createCpuModel(
      loadWeights(source, {
        createLinear: (spec, from) => {
          const dense = readDenseLinear(spec, from);
          if (spec.layer !== 1 || spec.name !== 'down_proj') return dense;
          return {
            inFeatures: dense.inFeatures,
            outFeatures: dense.outFeatures,
            forward(input, tokens) {
              if (failing) throw new Error('device lost');
              return dense.forward(input, tokens);
            },
          };
        },
      }),
    );
    model.forward(sequence.slice(0, 4), 0);
    failing = true;
    expect(() => model.forward(sequence.slice(4, 8), 4)).toThrow('device lost');
    expect(model.cachedPositions).toBe(4);
    failing = false;
    const resumed = model.forward(sequence.slice(4, 8), 4, { allLogits: true });
    const fresh = createCpuModel(loadWeights(source)).forward(sequence.slice(0, 8), 0, { allLogits: true });
    expect(maxAbsDifference(resumed, fresh.subarray(4 * source.config.vocabSize))).toBeLessThan(1e-5);
  });

  it('rejects token ids outside the vocabulary and windows past the context', () => {
    const model = createCpuModel(loadWeights(createSyntheticSource({}, 10)), { contextLength: 8 });
    expect(model.contextLength).toBe(8);
    expect(() => model.forward([1, 37], 0)).toThrow(/tokens\[1\] must be an integer id in \[0, 37\) \(got 37\)/);
    expect(() => model.forward([], 0)).toThrow(/tokens must be a non-empty array/);
    expect(() => model.forward(new Array(9).fill(3), 0)).toThrow(
      /startPosition \+ tokens must not exceed contextLength \(got 0 \+ 9 > 8\)/,
    );
  });

  it('rejects a RoPE scaling or sliding window it cannot run, naming the field', () => {
    const weights = loadWeights(createSyntheticSource({}, 13));
    const scaling = { type: 'llama3' as const, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 };
    const withConfig = (config: Partial<LlamaConfig>) => () => createCpuModel({ ...weights, config: { ...weights.config, ...config } });
    expect(withConfig({ ropeScaling: { ...scaling, type: 'yarn' as never } })).toThrow(/config\.ropeScaling\.type must be 'llama3' \(got yarn\)/);
    expect(withConfig({ ropeScaling: { ...scaling, highFreqFactor: 1 } })).toThrow(/config\.ropeScaling\.highFreqFactor must be a finite number > lowFreqFactor \(got 1 and 1\)/);
    expect(withConfig({ slidingWindow: { size: 0, layers: [0] } })).toThrow(/config\.slidingWindow\.size must be a positive 32-bit integer \(got 0\)/);
    expect(withConfig({ slidingWindow: { size: 4, layers: [1, 0] } })).toThrow(/config\.slidingWindow\.layers must list distinct layers below numHiddenLayers = 2 in ascending order \(got \[1, 0\]\)/);
    expect(withConfig({ slidingWindow: { size: 4, layers: [2] } })).toThrow(/slidingWindow\.layers/);
    expect(withConfig({ ropeScaling: scaling, slidingWindow: { size: 4, layers: [1] } })).not.toThrow();
  });

  it('rejects weights whose shapes disagree with the config', () => {
    const weights = loadWeights(createSyntheticSource({}, 11));
    const broken = {
      ...weights,
      layers: weights.layers.map((layer, index) =>
        index === 1 ? { ...layer, linears: { ...layer.linears, up_proj: createDenseLinear(new Float32Array(24 * 39), { outFeatures: 39, inFeatures: 24 }) } } : layer,
      ),
    };
    expect(() => createCpuModel(broken)).toThrow(LlamaRuntimeError);
    expect(() => createCpuModel(broken)).toThrow(/model\.layers\.1\.mlp\.up_proj must be a Linear of 40 × 24 \(got 39 × 24\)/);
    try {
      createCpuModel(broken);
    } catch (error) {
      expect(error).toMatchObject({ code: 'VPTQ_RUNTIME_BAD_WEIGHTS', layer: 1 });
    }
  });
});
