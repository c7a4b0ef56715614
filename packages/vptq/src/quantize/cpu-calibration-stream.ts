import { accumulateHessian, createHessianAccumulator, finalizeHessian } from '@vptq/hessian';
import type { HessianAccumulator } from '@vptq/hessian';
import type { LlamaConfig } from '@vptq/loader';
import { forwardDecoderLayer, loadLayerWeights } from '@vptq/runtime/layers';

import type { CalibrationStream, HessianGroup, LayerHessians } from './calibration-stream';
import { calibrationWindows, groupWidths } from './calibration-stream';

/**
 * The calibration stream in host memory (`tokens × hidden` f32), advanced by the CPU decoder layer by layer and
 * its Hessians accumulated in f64: the reference the GPU stream is compared with.
 *
 * @param embeddings - `[tokens, hidden]` f32, the embedded calibration tokens; owned by the stream from here.
 */
export function createCpuCalibrationStream(config: LlamaConfig, embeddings: Float32Array, window: number): CalibrationStream {
  const hidden = config.hiddenSize;
  const tokens = embeddings.length / hidden;
  const windows = calibrationWindows(tokens, window);
  const widths = groupWidths(config);
  return {
    tokens,
    byteLength: embeddings.byteLength,
    async forwardLayer(layer, source, { collect, advance, onProgress }) {
      const weights = loadLayerWeights(source, layer);
      const accumulators = new Map<HessianGroup, HessianAccumulator>();
      if (collect) for (const [group, width] of widths) accumulators.set(group, createHessianAccumulator(width));
      for (const { start, rows } of windows) {
        const view = embeddings.subarray(start * hidden, (start + rows) * hidden);
        forwardDecoderLayer(config, layer, weights, advance ? view : view.slice(), rows, {
          onLinearInput: collect ? (event) => accumulateHessian(accumulators.get(event.group) as HessianAccumulator, event.input, event.tokens) : undefined,
        });
        onProgress?.(start + rows, tokens);
        // Yield between windows, so that progress bars repaint and a signal can stop the run (setImmediate in
        // Node, a timer in browsers and workers).
        await new Promise<void>((resolve) => (immediate ? immediate(resolve) : setTimeout(resolve, 0)));
      }
      if (!collect) return undefined;
      return Object.fromEntries([...accumulators].map(([group, accumulator]) => [group, finalizeHessian(accumulator)])) as unknown as LayerHessians;
    },
    destroy() {},
  };
}

/** Node's setImmediate, where there is one (read off globalThis: the main entry runs in browsers too). */
const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;
