/// <reference types="@webgpu/types" />
export { acquireDevice, optionalKernelFeatures, raisedLimits } from './device';
export type { AcquireDeviceOptions, DeviceInfo, RaisedLimit } from './device';
export { AdapterUnavailableError, DeviceLostError, GpuValidationError, ShaderCompilationError, WebGpuError } from './errors';
export type { WebGpuErrorCode } from './errors';
export { compileShader } from './compile-shader';
export { getComputePipeline } from './pipeline-cache';
export type { PipelineSpec } from './pipeline-cache';
export { createBufferWithData, createStorageBuffer, createUniformBuffer, packParams, readBuffer } from './buffers';
export type { BufferBinding, ParamField } from './buffers';
export { ComputeStep, DispatchSequence, captureGpuErrors, checkWorkgroups, submitDispatches } from './dispatch';
export type { Destroyable, KernelDispatch } from './dispatch';
export { bufferUsage, mapMode } from './gpu-flags';
export { describeWeights, uploadWeights, weightRowStride, weightRowsPerWindow } from './gpu-weights';
export type { GpuWeights, UploadWeightsOptions, WeightFormat, WeightWindow } from './gpu-weights';

export { GpuVqLayer, codebookEntryStride, uploadVqLayer, uploadVqLayers } from './vq-layer/upload-vq-layer';
export type { GpuVqRange, VqLayerSource } from './vq-layer/upload-vq-layer';
export { createSyntheticVqLayer } from './vq-layer/create-synthetic-vq-layer';
export type { SyntheticVqLayerOptions } from './vq-layer/create-synthetic-vq-layer';
export { createVqDequantDispatch, vqDequantByteLength, vqDequantize } from './vq-dequant/vq-dequant';
export { vqDequantizeCpu } from './vq-dequant/vq-dequant-cpu';
export { vqDequantWgsl } from './vq-dequant/vq-dequant.wgsl';
export { createVqGemvDispatch, maxVqGemvTokens, maxVqGemvVectorLength, planVqGemvChunks, planVqGemvPart, vqGemv, vqGemvCoversRows, vqStackMismatch } from './vq-gemv/vq-gemv';
export type { VqGemvBuffers, VqGemvOptions, VqGemvPartPlan, VqGemvShape } from './vq-gemv/vq-gemv';
export { vqGemvCpu } from './vq-gemv/vq-gemv-cpu';
export {
  maxVqGemvProjections,
  vqGemvReduceWgsl,
  vqGemvSubgroupsWgsl,
  vqGemvWgsl,
} from './vq-gemv/vq-gemv.wgsl';

export { createGemvDispatch, gemv, maxGemvTokens } from './gemv/gemv';
export type { GemvBuffers, GemvOptions, GemvShape } from './gemv/gemv';
export { gemvSubgroupsWgsl, gemvWgsl } from './gemv/gemv.wgsl';
export { linearCpu } from './gemv/linear-cpu';
export { createGemmDispatch, gemm } from './gemm/gemm';
export type { GemmShape } from './gemm/gemm';
export { gemmWgsl } from './gemm/gemm.wgsl';

export { createRmsNormDispatch, rmsNorm } from './rms-norm/rms-norm';
export type { RmsNormBuffers, RmsNormShape } from './rms-norm/rms-norm';
export { rmsNormCpu } from './rms-norm/rms-norm-cpu';
export { rmsNormWgsl } from './rms-norm/rms-norm.wgsl';
export { createRopeDispatch, rope } from './rope/rope';
export type { RopeDispatch } from './rope/rope';
export { ropeCpu, ropeInverseFrequencies } from './rope/rope-cpu';
export type { RopeLayout, RopeShape } from './rope/rope-cpu';
export { ropeWgsl } from './rope/rope.wgsl';
export { attention, createAttentionDispatch } from './attention/attention';
export type { AttentionBuffers, AttentionDispatch } from './attention/attention';
export { attentionCpu } from './attention/attention-cpu';
export type { AttentionShape } from './attention/attention-cpu';
export { attentionWgsl } from './attention/attention.wgsl';
export { createSwigluDispatch, swiglu } from './swiglu/swiglu';
export type { SwigluBuffers } from './swiglu/swiglu';
export { swigluCpu } from './swiglu/swiglu-cpu';
export { swigluWgsl } from './swiglu/swiglu.wgsl';
export { add, createAddDispatch } from './add/add';
export type { AddBuffers } from './add/add';
export { addCpu } from './add/add-cpu';
export { addWgsl } from './add/add.wgsl';
export { argmax, createArgmaxDispatch } from './argmax/argmax';
export type { ArgmaxBuffers } from './argmax/argmax';
export { argmaxCpu } from './argmax/argmax-cpu';
export { argmaxWgsl } from './argmax/argmax.wgsl';
export { sampleLogits } from './argmax/sample-logits';
export type { SampleLogitsOptions } from './argmax/sample-logits';
export { createEmbeddingDispatch, embedding } from './embedding/embedding';
export type { EmbeddingBuffers } from './embedding/embedding';
export { embeddingCpu } from './embedding/embedding-cpu';
export { embeddingWgsl } from './embedding/embedding.wgsl';
export { copyThroughShader, createCopyDispatch } from './copy/copy';
export type { CopyBuffers } from './copy/copy';
export { copyWgsl } from './copy/copy.wgsl';
export { createKmeansAssignDispatch, kmeansAssign, maxKmeansDim } from './kmeans-assign/kmeans-assign';
export type { KmeansAssignBuffers } from './kmeans-assign/kmeans-assign';
export { kmeansAssignCpu } from './kmeans-assign/kmeans-assign-cpu';
export type { Matrix } from './kmeans-assign/kmeans-assign-cpu';
export { kmeansAssignWgsl } from './kmeans-assign/kmeans-assign.wgsl';

export { benchmarkKernels, defaultBenchmarkConfigs, llama2Shapes } from './benchmark/benchmark-kernels';
export type { BenchmarkKernelsOptions, BenchmarkShape, BenchmarkVqConfig, KernelBenchmarkResult, KernelBenchmarkRow } from './benchmark/benchmark-kernels';
