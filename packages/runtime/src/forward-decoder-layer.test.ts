import { describe, expect, it } from 'vitest';

import { createCpuModel } from './create-cpu-model';
import { forwardDecoderLayer } from './forward-decoder-layer';
import type { LinearInputEvent } from './language-model';
import { loadLayerWeights, loadWeights } from './load-weights';
import { rmsNorm } from './rms-norm';
import { createSyntheticSource } from './test/synthetic-model';

type Captured = Pick<LinearInputEvent, 'layer' | 'group' | 'tokens'> & { input: Float32Array };

describe('forwardDecoderLayer', () => {
  // Sliding windows in one layer only, biases on q/k/v: every branch of the layer, layer by layer.
  const cases = {
    llama: {},
    'qwen2-like (q/k/v biases, a sliding window in layer 1)': {
      modelType: 'qwen2',
      attentionBias: true,
      slidingWindow: { size: 3, layers: [1] },
    },
  } as const;
  for (const [name, overrides] of Object.entries(cases)) {
    it(`layer by layer equals the whole model bit for bit: ${name}`, () => {
      const source = createSyntheticSource(overrides as never, 7);
      const config = source.config;
      const tokens = [1, 5, 9, 3, 30, 2, 17, 8];
      const count = tokens.length;
      const hidden = config.hiddenSize;

      const wholeInputs: Captured[] = [];
      const model = createCpuModel(loadWeights(source));
      const logits = model.forward(tokens, 0, { allLogits: true, onLinearInput: (event) => wholeInputs.push({ ...event, input: event.input.slice() }) });

      const embed = source.readTensor('model.embed_tokens.weight');
      const x = new Float32Array(count * hidden);
      tokens.forEach((token, t) => x.set(embed.subarray(token * hidden, (token + 1) * hidden), t * hidden));
      const layerInputs: Captured[] = [];
      for (let layer = 0; layer < config.numHiddenLayers; layer++) {
        forwardDecoderLayer(config, layer, loadLayerWeights(source, layer), x, count, {
          onLinearInput: (event) => layerInputs.push({ ...event, input: event.input.slice() }),
        });
      }
      expect(layerInputs.map(({ layer, group, tokens: rows }) => [layer, group, rows])).toEqual(
        wholeInputs.map(({ layer, group, tokens: rows }) => [layer, group, rows]),
      );
      layerInputs.forEach((captured, index) => expect(captured.input).toEqual(wholeInputs[index].input));
      const finalNormed = rmsNorm(x, source.readTensor('model.norm.weight'), config.rmsNormEps);
      expect(model.weights.lmHead.forward(finalNormed, count)).toEqual(logits);
    });
  }

  it('names what is wrong with its arguments', () => {
    const source = createSyntheticSource();
    const layer = loadLayerWeights(source, 0);
    const x = new Float32Array(2 * source.config.hiddenSize);
    expect(() => forwardDecoderLayer(source.config, 2, layer, x, 2)).toThrow('forwardDecoderLayer: index must be an integer in [0, 2) (got 2)');
    expect(() => forwardDecoderLayer(source.config, 0, layer, x, 3)).toThrow(/x must be a Float32Array of tokens × hiddenSize = 3 × 24 \(got 48\)/);
    expect(() => loadLayerWeights(source, -1)).toThrow('loadLayerWeights: layer must be an integer in [0, 2) (got -1)');
  });
});
