import { ShaderCompilationError } from './errors';

/**
 * Creates a shader module and waits for its compilation messages, failing with every error as
 * `line:col message` (line numbers of `code`).
 *
 * @param device - the device to compile on.
 * @param label - the module label, quoted by Dawn and by the error (use the kernel name).
 * @param code - WGSL source.
 * @throws {ShaderCompilationError} (`VPTQ_GPU_SHADER_COMPILATION`) when the WGSL has errors.
 */
export async function compileShader(device: GPUDevice, label: string, code: string): Promise<GPUShaderModule> {
  const module = device.createShaderModule({ label, code });
  const { messages } = await module.getCompilationInfo();
  const errors = messages.filter((message) => message.type === 'error');
  if (errors.length > 0) {
    throw new ShaderCompilationError(
      label,
      errors.map((message) => `${message.lineNum}:${message.linePos} ${message.message}`),
    );
  }
  return module;
}
