// `@vptq/kernels-webgpu/quantize`: the quantizer's heavy steps on the GPU (Hessian accumulation, k-means, the
// column loop, the codebook refit), each the GPU implementation of a pluggable step of @vptq/hessian, @vptq/kmeans or
// @vptq/codebook, whose CPU implementation is its twin in the parity tests.
export { createInverseCholeskyDispatch, upperCholeskyOfInverseGpu } from './inverse-cholesky/inverse-cholesky';
export type { InverseCholeskyBuffers } from './inverse-cholesky/inverse-cholesky';
export { NotPositiveDefiniteError } from './inverse-cholesky/not-positive-definite-error';
export { createGpuKmeansEngine } from './kmeans-engine/create-gpu-kmeans-engine';
export type { GpuKmeansEngineOptions } from './kmeans-engine/create-gpu-kmeans-engine';
export type { KmeansAssignOptions } from './kmeans-assign/kmeans-assign';
export { GpuHessianAccumulator, createGpuHessianAccumulator } from './hessian-accumulator/hessian-accumulator';
export type { GpuHessian, GpuHessianAccumulatorOptions, GpuHessianSums } from './hessian-accumulator/hessian-accumulator';
export { prepareHessianGpu } from './prepare-hessian-gpu/prepare-hessian-gpu';
export type { HostHessian } from './prepare-hessian-gpu/prepare-hessian-gpu';
export { GpuMatrix } from './device-matrix/gpu-matrix';
export { createGpuVptqPassEngine } from './vptq-pass/create-gpu-vptq-pass-engine';
export type { GpuVptqPassEngine, GpuVptqPassOptions } from './vptq-pass/create-gpu-vptq-pass-engine';
export type { GpuVptqPassSession } from './vptq-pass/gpu-vptq-pass-session';
export { createGpuRefitEngine } from './vptq-refit/create-gpu-refit-engine';
export type { GpuRefitEngine, GpuRefitOptions } from './vptq-refit/create-gpu-refit-engine';
export type { GpuRefitSession } from './vptq-refit/gpu-refit-session';
