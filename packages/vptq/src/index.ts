export { loadCpu } from './load-cpu';
export type { LoadCpuOptions, LoadedModel } from './load-cpu';
export { loadGpu } from './load-gpu';
export type { LoadedGpuModel, LoadGpuOptions } from './load-gpu';
export type { ModelLocation } from './model-location';
export { createModelFiles, urlModelFiles } from '@vptq/loader';
export type { ModelFiles } from '@vptq/loader';
export { generate, perplexity } from '@vptq/runtime';
export type { GenerateOptions, GenerateResult, PerplexityOptions, PerplexityResult } from '@vptq/runtime';
// Quantization in memory (browsers, workers), and what `quantize` (in `vptq/node`, as it reads and writes
// directories) is set up with and reports: plain data, shared with any quantizer front end.
export { quantizeInMemory } from './quantize/quantize-in-memory';
export type { QuantizeInMemoryOptions, QuantizeInMemoryResult } from './quantize/quantize-in-memory';
export type { QuantizeEvent, QuantizeMethod, QuantizePhase, VptqSettings } from './quantize/quantize-options';
export { quantizeDefaults } from './quantize/quantize-defaults';
export type { QuantizeSettings } from './quantize/quantize-defaults';
export { QuantizeDeviceError } from './quantize/quantize-device-error';
export type { QuantizeDeviceErrorCode } from './quantize/quantize-device-error';
