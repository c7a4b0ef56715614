import { compileShader } from './compile-shader';
import { GpuValidationError } from './errors';

/** What identifies one compute pipeline: the kernel (label + WGSL), its entry point and override constants. */
export interface PipelineSpec {
  /** Kernel name, unique per WGSL text (variants of a kernel get distinct labels, e.g. `gemv/subgroups`). */
  readonly label: string;
  readonly code: string;
  /** Default `'main'`. */
  readonly entryPoint?: string;
  /** WGSL `override` values; booleans are passed as 0/1. */
  readonly constants?: Readonly<Record<string, number | boolean>>;
}

const modules = new WeakMap<GPUDevice, Map<string, Promise<GPUShaderModule>>>();
const pipelines = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

/**
 * The compute pipeline for `spec` on `device`, compiled once per device and per kernel × entry point ×
 * constants (webgpu-utils' WeakMap pattern, so a destroyed device releases its pipelines).
 *
 * @throws {ShaderCompilationError} when the WGSL does not compile.
 * @throws {GpuValidationError} when pipeline creation fails (e.g. an override out of range).
 */
export function getComputePipeline(device: GPUDevice, spec: PipelineSpec): Promise<GPUComputePipeline> {
  const entryPoint = spec.entryPoint ?? 'main';
  const constants: Record<string, number> = {};
  for (const name of Object.keys(spec.constants ?? {}).sort()) {
    const value = (spec.constants as Record<string, number | boolean>)[name];
    constants[name] = typeof value === 'boolean' ? Number(value) : value;
  }
  const key = `${spec.label}\u0000${entryPoint}\u0000${JSON.stringify(constants)}`;
  let byKey = pipelines.get(device);
  if (!byKey) {
    byKey = new Map();
    pipelines.set(device, byKey);
  }
  const cached = byKey.get(key);
  if (cached) return cached;

  const pipeline = getModule(device, spec.label, spec.code).then(async (module) => {
    try {
      return await device.createComputePipelineAsync({
        label: spec.label,
        layout: 'auto',
        compute: { module, entryPoint, constants },
      });
    } catch (error) {
      throw new GpuValidationError(spec.label, 'validation', [error instanceof Error ? error.message : String(error)], {
        cause: error,
      });
    }
  });
  byKey.set(key, pipeline);
  // A failed compile must not poison the cache: the next call retries (and fails with the same message).
  pipeline.catch(() => byKey.delete(key));
  return pipeline;
}

function getModule(device: GPUDevice, label: string, code: string): Promise<GPUShaderModule> {
  let byCode = modules.get(device);
  if (!byCode) {
    byCode = new Map();
    modules.set(device, byCode);
  }
  let module = byCode.get(code);
  if (!module) {
    module = compileShader(device, label, code);
    byCode.set(code, module);
    const map = byCode;
    module.catch(() => map.delete(code));
  }
  return module;
}
