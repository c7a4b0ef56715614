// `@vptq/kernels-webgpu/authoring`: the building blocks the kernels are made of, for writing more kernels in the
// same style (@vptq/runtime's KV append and its benchmarks' random fill use them): buffers, the uniform packer,
// compiled-and-cached pipelines, a recorded dispatch, usage flags without WebGPU globals.
export { createBufferWithData, createStorageBuffer, createUniformBuffer, packParams, readBuffer } from './buffers';
export type { ParamField } from './buffers';
export { compileShader } from './compile-shader';
export { getComputePipeline } from './pipeline-cache';
export type { PipelineSpec } from './pipeline-cache';
export { ComputeStep, DispatchSequence, checkWorkgroups } from './dispatch';
export type { Destroyable } from './dispatch';
export { bufferUsage, mapMode } from './gpu-flags';
export { weightRowStride } from './gpu-weights';
