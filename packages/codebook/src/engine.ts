// `@vptq/codebook/engine`: the contract of the column loop's engine (what `quantizeVptqLayerAsync` calls for each
// pass and proxy error) and the CPU engine, the reference every other engine (the WebGPU one of
// `@vptq/kernels-webgpu/quantize`) is compared with in parity tests.
export { cpuVptqPassEngine } from './cpu-vptq-pass-engine';
export type { VptqPassEngine, VptqPassLayer, VptqPassRequest, VptqPassResult, VptqPassSession } from './vptq-pass-engine';
export type { VptqPart } from './vptq-parts';
