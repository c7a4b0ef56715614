// `@vptq/runtime/layers`: one decoder layer at a time, on the CPU and on the GPU, for layer-by-layer quantizers
// (`vptq quantize`), apart from the main entry's whole-model API.
export { forwardDecoderLayer } from './forward-decoder-layer';
export type { DecoderLayerOptions } from './forward-decoder-layer';
export { loadLayerWeights } from './load-weights';
export { createGpuLayerRunner } from './gpu/gpu-layer-runner';
export type { CapturedInput, GpuLayerRunner, GpuLayerRunnerOptions, GpuLayerRunOptions } from './gpu/gpu-layer-runner';
export type { GpuLayerWeights } from './gpu/gpu-llama-weights';
export { uploadLayerWeights } from './gpu/upload-llama-weights';
export type { UploadedLayerWeights } from './gpu/upload-llama-weights';
