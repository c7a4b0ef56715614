// `@vptq/codebook/engine`: the contracts of the column loop's engine (what `quantizeVptqLayerAsync` calls for each
// pass and proxy error) and of the codebook refit's engine (each refinement round's least-squares refit), and their
// CPU engines, the references every other engine (the WebGPU ones of `@vptq/kernels-webgpu/quantize`) is compared
// with in parity tests.
export { cpuVptqPassEngine } from './cpu-vptq-pass-engine';
export { toWorkingLayout } from './column-norm';
export type { VptqPassEngine, VptqPassLayer, VptqPassRequest, VptqPassResult, VptqPassSession } from './vptq-pass-engine';
export type { VptqPart } from './vptq-parts';
export { cpuVptqRefitEngine } from './cpu-vptq-refit-engine';
export type { VptqPartAssignment, VptqRefitEngine, VptqRefitLayer, VptqRefitRequest, VptqRefitResult, VptqRefitSession } from './vptq-refit-engine';
