import { finalizeHessian, hessianAccumulatorFromSums } from '@vptq/hessian';
import { createBufferWithData } from '@vptq/kernels-webgpu/authoring';
import { createGpuHessianAccumulator } from '@vptq/kernels-webgpu/quantize';
import type { GpuHessianAccumulator } from '@vptq/kernels-webgpu/quantize';
import type { LlamaConfig } from '@vptq/loader';
import { createGpuLayerRunner, uploadLayerWeights } from '@vptq/runtime/layers';

import type { CalibrationStream, CollectedHessian, HessianGroup, LayerHessians } from './calibration-stream';
import { groupWidths, isOnDevice, releaseHessian } from './calibration-stream';

/** Rows per recorded pass of the layer runner: large enough to keep the GEMMs efficient, bounded activations. */
export const gpuChunkTokens = 2048;

/**
 * The calibration stream resident on the GPU (one `tokens × hidden` f32 buffer), advanced by the GPU runtime's
 * layer runner; the Hessians are accumulated on the device (`createGpuHessianAccumulator`, compensated f32) from
 * the inputs the runner captures after every chunk, then kept there as f32 matrices (`onDevice`) or read back and
 * finalized in f64.
 *
 * @param track - told the bytes held at each peak (stream, runner, layer weights, accumulators).
 */
export async function createGpuCalibrationStream(
  device: GPUDevice,
  config: LlamaConfig,
  embeddings: Float32Array,
  window: number,
  track: (bytes: number) => void,
): Promise<CalibrationStream> {
  const hidden = config.hiddenSize;
  const tokens = embeddings.length / hidden;
  const stream = createBufferWithData(device, 'calibration-stream', embeddings);
  let runner: Awaited<ReturnType<typeof createGpuLayerRunner>>;
  try {
    runner = await createGpuLayerRunner(device, config, { window, chunk: Math.min(gpuChunkTokens, window) });
  } catch (error) {
    stream.destroy();
    throw error;
  }
  const widths = groupWidths(config);
  return {
    tokens,
    byteLength: stream.size,
    async forwardLayer(layer, source, { collect, advance, onDevice, onProgress }) {
      const weights = uploadLayerWeights(device, source, layer);
      const accumulators = new Map<HessianGroup, GpuHessianAccumulator>();
      try {
        if (collect) for (const [group, width] of widths) accumulators.set(group, await createGpuHessianAccumulator(device, width));
        let accumulated = 0;
        for (const accumulator of accumulators.values()) accumulated += accumulator.byteLength;
        track(stream.size + runner.byteLength() + weights.byteLength + accumulated);
        let done = 0;
        await runner.run(layer, weights, stream, tokens, {
          output: advance ? undefined : null,
          capture: collect
            ? (input) => {
                (accumulators.get(input.group) as GpuHessianAccumulator).accumulate(input.input, input.tokens);
                if (input.group === 'mlp-hidden') {
                  done += input.tokens;
                  onProgress?.(done, tokens);
                }
              }
            : undefined,
        });
        track(stream.size + runner.byteLength() + weights.byteLength + accumulated);
        if (!collect) return undefined;
        const hessians: Partial<Record<HessianGroup, CollectedHessian>> = {};
        try {
          for (const [group, accumulator] of accumulators) {
            // On the device: an n² f32 matrix per group and no readback; on the host: the f64 sums read back.
            hessians[group] = onDevice ? await accumulator.finalize() : finalizeHessian(hessianAccumulatorFromSums(await accumulator.read()));
            accumulator.destroy();
            accumulated -= accumulator.byteLength;
            if (onDevice) track(stream.size + runner.byteLength() + weights.byteLength + accumulated + matrixBytes(hessians));
          }
        } catch (error) {
          for (const hessian of Object.values(hessians)) releaseHessian(hessian);
          throw error;
        }
        return hessians as LayerHessians;
      } finally {
        weights.destroy();
        for (const accumulator of accumulators.values()) accumulator.destroy();
      }
    },
    destroy() {
      runner.destroy();
      stream.destroy();
    },
  };
}

/** Bytes of the device matrices among `hessians`. */
function matrixBytes(hessians: Partial<Record<HessianGroup, CollectedHessian>>): number {
  let bytes = 0;
  for (const hessian of Object.values(hessians)) if (isOnDevice(hessian)) bytes += hessian.size * hessian.size * 4;
  return bytes;
}
