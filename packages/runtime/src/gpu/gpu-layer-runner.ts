import { captureGpuErrors, vqDequantByteLength } from '@vptq/kernels-webgpu';
import type { LlamaConfig } from '@vptq/loader';

import { validateConfig } from '../validate-config';
import type { ForwardProgram, LinearInputHook } from './forward-program';
import { buildForwardProgram } from './forward-program';
import type { DequantScratch } from './gpu-linear';
import type { GpuLayerWeights } from './gpu-llama-weights';
import { allocateModelBuffers } from './model-buffers';

/** Options of {@link createGpuLayerRunner}. */
export interface GpuLayerRunnerOptions {
  /** Positions of one attention window: the stream is cut into windows of this many rows, each from position 0. */
  readonly window: number;
  /** Rows per recorded pass (one submit each); bounds the activation buffers. Default and at most `window`. */
  readonly chunk?: number;
}

/** Options of {@link GpuLayerRunner.run}. */
export interface GpuLayerRunOptions {
  /** Called once per projection input per recorded pass; its dispatches run on every chunk (Hessian capture). */
  readonly onLinearInput?: LinearInputHook;
  /** Where the layer's output rows go. Default: `stream` itself (in place). */
  readonly output?: GPUBuffer;
}

/**
 * Runs one decoder layer at a time over a residual stream resident on the GPU: the layer-by-layer half of a
 * quantizer, which keeps its calibration activations on the device and advances them through each layer.
 */
export interface GpuLayerRunner {
  readonly config: LlamaConfig;
  readonly window: number;
  readonly chunk: number;
  /** Bytes of the runner's own buffers (one chunk's activations, one window's KV cache, the dequant scratch). */
  byteLength(): number;
  /**
   * Runs decoder layer `index` over `tokens` rows of `stream` (`[tokens, hiddenSize]` f32; a partial last window
   * is allowed) and waits for the GPU to finish. The layer's sliding window (if any) applies inside each window.
   *
   * @throws {RangeError} for a layer index outside the config or a stream smaller than `tokens` rows.
   * @throws {GpuValidationError} when the device refuses a pass (out of memory included).
   */
  run(index: number, weights: GpuLayerWeights, stream: GPUBuffer, tokens: number, options?: GpuLayerRunOptions): Promise<void>;
  destroy(): void;
}

/**
 * Allocates the buffers of one chunk of one layer and returns a {@link GpuLayerRunner}. The computation is the
 * GPU model's forward pass restricted to one layer (`createGpuModel` runs the same recorded dispatches), fed
 * from and written back to the caller's stream by buffer copies between passes.
 *
 * @throws {RangeError} for a config that is not runnable or bad window/chunk sizes.
 */
export async function createGpuLayerRunner(device: GPUDevice, config: LlamaConfig, options: GpuLayerRunnerOptions): Promise<GpuLayerRunner> {
  const fn = 'createGpuLayerRunner';
  validateConfig(fn, config);
  const { window } = options;
  if (!Number.isInteger(window) || window < 1) throw new RangeError(`${fn}: options.window must be a positive integer (got ${window})`);
  const chunk = Math.min(options.chunk ?? window, window);
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`${fn}: options.chunk must be a positive integer (got ${options.chunk})`);
  const single = { ...config, numHiddenLayers: 1 };
  const memory = await allocateModelBuffers(device, single, { contextLength: window, chunk });
  const { buffers } = memory;
  const rowBytes = config.hiddenSize * 4;
  let scratch: DequantScratch | undefined;
  let destroyed = false;

  return {
    config,
    window,
    chunk,
    byteLength: () => memory.byteLength(),
    async run(index, weights, stream, tokens, runOptions = {}) {
      if (destroyed) throw new Error('GpuLayerRunner.run: the runner was destroyed');
      if (!Number.isInteger(index) || index < 0 || index >= config.numHiddenLayers) {
        throw new RangeError(`GpuLayerRunner.run: index must be an integer in [0, ${config.numHiddenLayers}) (got ${index})`);
      }
      if (!Number.isInteger(tokens) || tokens < 1 || stream.size < tokens * rowBytes) {
        throw new RangeError(`GpuLayerRunner.run: stream must hold tokens × hiddenSize f32 (${tokens} × ${config.hiddenSize}, ${tokens * rowBytes} bytes; got ${stream.size})`);
      }
      const output = runOptions.output ?? stream;
      if (output.size < tokens * rowBytes) throw new RangeError(`GpuLayerRunner.run: output must hold ${tokens * rowBytes} bytes (got ${output.size})`);
      // The scratch a packed layer is dequantized into before its GEMM: sized for the largest layer seen.
      let needed = 0;
      for (const linear of Object.values(weights.linears)) if (linear.kind === 'vq') needed = Math.max(needed, vqDequantByteLength(linear.layer, 'f32'));
      if (scratch && scratch.buffer.size < needed) scratch = undefined;
      const context = {
        dequantScratch: (): DequantScratch => {
          if (!scratch) {
            const format = needed <= device.limits.maxStorageBufferBindingSize ? 'f32' : 'f16';
            scratch = { buffer: memory.storage('vq-dequant-scratch', format === 'f32' ? needed : needed / 2), format };
          }
          return scratch;
        },
      };
      const programs = new Map<number, ForwardProgram>();
      const program = async (rows: number): Promise<ForwardProgram> => {
        let built = programs.get(rows);
        if (!built) {
          built = await captureGpuErrors(device, fn, () =>
            buildForwardProgram(device, { config, layers: [weights] }, buffers, rows, 'none', context, {
              input: 'hidden',
              firstLayer: index,
              onLinearInput: runOptions.onLinearInput,
            }),
          );
          programs.set(rows, built);
        }
        return built;
      };
      try {
        for (let windowStart = 0; windowStart < tokens; windowStart += window) {
          const windowRows = Math.min(window, tokens - windowStart);
          for (let offset = 0; offset < windowRows; offset += chunk) {
            const rows = Math.min(chunk, windowRows - offset);
            const recorded = await program(rows);
            recorded.setPosition(offset);
            const first = (windowStart + offset) * rowBytes;
            const encoder = device.createCommandEncoder({ label: `layer-${index}` });
            encoder.copyBufferToBuffer(stream, first, buffers.x, 0, rows * rowBytes);
            recorded.encode(encoder);
            encoder.copyBufferToBuffer(buffers.x, 0, output, first, rows * rowBytes);
            device.queue.submit([encoder.finish()]);
          }
        }
        await device.queue.onSubmittedWorkDone();
      } finally {
        for (const built of programs.values()) built.destroy();
      }
    },
    destroy() {
      destroyed = true;
      memory.destroy();
    },
  };
}
