// `@vptq/kernels-webgpu/quantize`: the quantizer's heavy steps on the GPU (Hessian accumulation, k-means, the
// column loop), each the GPU implementation of a pluggable step of @vptq/hessian, @vptq/kmeans or
// @vptq/codebook, whose CPU implementation is its twin in the parity tests.
export { GpuHessianAccumulator, createGpuHessianAccumulator } from './hessian-accumulator/hessian-accumulator';
export type { GpuHessianAccumulatorOptions, GpuHessianSums } from './hessian-accumulator/hessian-accumulator';
