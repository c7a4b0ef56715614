// `@vptq/kernels-webgpu/quantize`: the quantizer's heavy steps on the GPU (Hessian accumulation, k-means, the
// column loop), each the GPU implementation of a pluggable step of @vptq/hessian, @vptq/kmeans or
// @vptq/codebook, whose CPU implementation is its twin in the parity tests.
export { createGpuVptqPassEngine } from './vptq-pass/create-gpu-vptq-pass-engine';
export type { GpuVptqPassEngine, GpuVptqPassOptions } from './vptq-pass/create-gpu-vptq-pass-engine';
export type { GpuVptqPassSession } from './vptq-pass/gpu-vptq-pass-session';
