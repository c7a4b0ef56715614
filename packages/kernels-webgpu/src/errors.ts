/** Stable `code` values of the errors this package throws for failures a caller may handle. */
export type WebGpuErrorCode =
  | 'VPTQ_GPU_NO_ADAPTER'
  | 'VPTQ_GPU_SHADER_COMPILATION'
  | 'VPTQ_GPU_VALIDATION'
  | 'VPTQ_GPU_OUT_OF_MEMORY'
  | 'VPTQ_GPU_INTERNAL'
  | 'VPTQ_GPU_DEVICE_LOST';

/**
 * Base class of this package's errors. Branch on `code` (stable across duplicate installs), not on
 * `instanceof`.
 */
export class WebGpuError extends Error {
  override readonly name: string = 'WebGpuError';
  readonly code: WebGpuErrorCode;

  constructor(code: WebGpuErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** No WebGPU adapter was offered (no GPU, no driver, or a blocklisted one). Code `VPTQ_GPU_NO_ADAPTER`. */
export class AdapterUnavailableError extends WebGpuError {
  override readonly name = 'AdapterUnavailableError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('VPTQ_GPU_NO_ADAPTER', message, options);
  }
}

/**
 * WGSL that did not compile. `messages` holds every error as `line:col message`, with line numbers of the
 * shader text (the `.wgsl.ts` file's constant). Code `VPTQ_GPU_SHADER_COMPILATION`.
 */
export class ShaderCompilationError extends WebGpuError {
  override readonly name = 'ShaderCompilationError';
  /** The shader module's label, e.g. `rms-norm`. */
  readonly label: string;
  /** One `line:col message` string per compilation error. */
  readonly messages: readonly string[];

  constructor(label: string, messages: readonly string[]) {
    super('VPTQ_GPU_SHADER_COMPILATION', `WGSL "${label}" did not compile:\n${messages.map((line) => `  ${line}`).join('\n')}`);
    this.label = label;
    this.messages = messages;
  }
}

/**
 * A WebGPU error captured through an error scope: `validation` (a bug in how the API was used),
 * `out-of-memory` or `internal`. Codes `VPTQ_GPU_VALIDATION`, `VPTQ_GPU_OUT_OF_MEMORY`, `VPTQ_GPU_INTERNAL`.
 */
export class GpuValidationError extends WebGpuError {
  override readonly name = 'GpuValidationError';
  /** The label of the operation that was running (usually the kernel name). */
  readonly label: string;
  /** Which error scope caught it. */
  readonly filter: GPUErrorFilter;
  /** The messages of every captured error, in scope order. */
  readonly messages: readonly string[];

  constructor(label: string, filter: GPUErrorFilter, messages: readonly string[], options?: { cause?: unknown }) {
    const code = filter === 'validation' ? 'VPTQ_GPU_VALIDATION' : filter === 'out-of-memory' ? 'VPTQ_GPU_OUT_OF_MEMORY' : 'VPTQ_GPU_INTERNAL';
    super(code, `${label}: GPU ${filter} error: ${messages.join('; ')}`, options);
    this.label = label;
    this.filter = filter;
    this.messages = messages;
  }
}

/**
 * The device was lost (driver reset, `destroy()`, GPU removed); every buffer and pipeline of it is gone and a
 * new device must be acquired. Code `VPTQ_GPU_DEVICE_LOST`.
 */
export class DeviceLostError extends WebGpuError {
  override readonly name = 'DeviceLostError';
  /** `destroyed` when the application destroyed the device, `unknown` otherwise. */
  readonly reason: GPUDeviceLostReason;

  constructor(reason: GPUDeviceLostReason, message: string, options?: { cause?: unknown }) {
    super('VPTQ_GPU_DEVICE_LOST', `GPU device lost (${reason})${message ? `: ${message}` : ''}`, options);
    this.reason = reason;
  }
}
