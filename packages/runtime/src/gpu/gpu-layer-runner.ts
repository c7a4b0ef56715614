import { captureGpuErrors } from '@vptq/kernels-webgpu';
import type { LinearInput, LlamaConfig } from '@vptq/loader';

import { validateConfig } from '../validate-config';
import type { ForwardProgram, GpuLinearInputEvent } from './forward-program';
import { buildForwardProgram } from './forward-program';
import type { DequantScratch } from './gpu-linear';
import { planDequantScratch } from './gpu-linear';
import type { GpuLayerWeights } from './gpu-llama-weights';
import { allocateModelBuffers } from './model-buffers';

/** Options of {@link createGpuLayerRunner}. */
export interface GpuLayerRunnerOptions {
  /** Positions of one attention window: the stream is cut into windows of this many rows, each from position 0. */
  readonly window: number;
  /** Rows per recorded pass (one submit each); bounds the activation buffers. Default and at most `window`. */
  readonly chunk?: number;
}

/** One projection input of one chunk, as {@link GpuLayerRunOptions.capture} sees it. */
export interface CapturedInput {
  /** Model index of the decoder layer. */
  readonly layer: number;
  readonly group: LinearInput;
  /**
   * `[tokens, inFeatures]` f32 (the buffer may be larger): valid until the next chunk is submitted, which happens
   * after the callback returns (or its promise settles). Work the callback submits to the queue reads it in time.
   */
  readonly input: GPUBuffer;
  readonly tokens: number;
  readonly inFeatures: number;
}

/** Options of {@link GpuLayerRunner.run}. */
export interface GpuLayerRunOptions {
  /**
   * Called after every chunk with each of the layer's four projection inputs (in `decoderLinears` order), for
   * instance to accumulate Hessians with work submitted to the same queue.
   */
  readonly capture?: (input: CapturedInput) => void | Promise<void>;
  /** Where the layer's output rows go. Default: `stream` itself (in place); `null`: nowhere (capture only). */
  readonly output?: GPUBuffer | null;
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
  // Capture copies every projection input here, one buffer per input, allocated on first use.
  const captureBuffers = new Map<LinearInput, GPUBuffer>();
  const captureBuffer = (group: LinearInput, width: number): GPUBuffer => {
    let buffer = captureBuffers.get(group);
    if (!buffer) {
      buffer = memory.storage(`capture-${group}`, chunk * width * 4);
      captureBuffers.set(group, buffer);
    }
    return buffer;
  };

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
      const output = runOptions.output === undefined ? stream : runOptions.output;
      if (output && output.size < tokens * rowBytes) throw new RangeError(`GpuLayerRunner.run: output must hold ${tokens * rowBytes} bytes (got ${output.size})`);
      const context = {
        // Where a packed layer is dequantized before its GEMM: kept across layers, grown when a layer needs more.
        dequantScratch: (): DequantScratch => {
          const plan = planDequantScratch(device, Object.values(weights.linears));
          if (!scratch || scratch.buffer.size < plan.bytes || scratch.format !== plan.format) {
            scratch = { buffer: memory.storage('vq-dequant-scratch', plan.bytes), format: plan.format };
          }
          return scratch;
        },
      };
      const programs = new Map<number, { program: ForwardProgram; inputs: GpuLinearInputEvent[] }>();
      const program = async (rows: number) => {
        let built = programs.get(rows);
        if (!built) {
          const inputs: GpuLinearInputEvent[] = [];
          const recorded = await captureGpuErrors(device, fn, () =>
            buildForwardProgram(device, { config, layers: [weights] }, buffers, rows, 'none', context, {
              input: 'hidden',
              firstLayer: index,
              // Always a hook, even an empty one: it turns off the decode-only fusions, so that a pass computes the
              // same bits whether or not it captures (a resumed run replays layers without capturing).
              onLinearInput: (event) => {
                if (!runOptions.capture) return undefined;
                inputs.push(event);
                return captureBuffer(event.group, event.inFeatures);
              },
            }),
          );
          built = { program: recorded, inputs };
          programs.set(rows, built);
        }
        return built;
      };
      try {
        for (let windowStart = 0; windowStart < tokens; windowStart += window) {
          const windowRows = Math.min(window, tokens - windowStart);
          for (let offset = 0; offset < windowRows; offset += chunk) {
            const rows = Math.min(chunk, windowRows - offset);
            const { program: recorded, inputs } = await program(rows);
            recorded.setPosition(offset);
            const first = (windowStart + offset) * rowBytes;
            const encoder = device.createCommandEncoder({ label: `layer-${index}` });
            encoder.copyBufferToBuffer(stream, first, buffers.x, 0, rows * rowBytes);
            recorded.encode(encoder);
            if (output) encoder.copyBufferToBuffer(buffers.x, 0, output, first, rows * rowBytes);
            device.queue.submit([encoder.finish()]);
            for (const event of inputs) {
              await runOptions.capture?.({ layer: index, group: event.group, input: captureBuffers.get(event.group) as GPUBuffer, tokens: rows, inFeatures: event.inFeatures });
            }
          }
        }
        await device.queue.onSubmittedWorkDone();
      } finally {
        for (const built of programs.values()) built.program.destroy();
      }
    },
    destroy() {
      destroyed = true;
      memory.destroy();
    },
  };
}
