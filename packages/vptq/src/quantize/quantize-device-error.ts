/**
 * Stable codes of {@link QuantizeDeviceError}: `VPTQ_QUANTIZE_GPU_OUT_OF_MEMORY` (a buffer or pass the device could
 * not allocate), `VPTQ_QUANTIZE_GPU_LOST` (the device was lost: driver reset, the GPU removed, or destroyed).
 */
export type QuantizeDeviceErrorCode = 'VPTQ_QUANTIZE_GPU_OUT_OF_MEMORY' | 'VPTQ_QUANTIZE_GPU_LOST';

/**
 * A GPU failure during `quantize`, naming the decoder layer and phase it hit and, for out-of-memory, about how
 * many bytes of GPU buffers the layer needed. The layers finished before it stay checkpointed in
 * `jobDirectory`: the same command run again (with more memory, fewer calibration tokens, or `--device cpu`…)
 * continues from them.
 */
export class QuantizeDeviceError extends Error {
  override readonly name = 'QuantizeDeviceError';
  readonly code: QuantizeDeviceErrorCode;
  /** 0-based decoder layer being quantized. */
  readonly layer: number;
  /** Its phase (`calibrate`, `prepare`, `quantize`, `advance`, `replay`, …). */
  readonly phase: string;
  /** Estimated GPU bytes the phase needed (buffers held at once), for out-of-memory. */
  readonly neededBytes: number | undefined;
  /** Where the finished layers are kept (`<out>.partial`). */
  readonly jobDirectory: string;

  constructor(
    code: QuantizeDeviceErrorCode,
    message: string,
    details: { layer: number; phase: string; neededBytes?: number; jobDirectory: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.layer = details.layer;
    this.phase = details.phase;
    this.neededBytes = details.neededBytes;
    this.jobDirectory = details.jobDirectory;
  }
}
