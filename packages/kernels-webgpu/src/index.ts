/// <reference types="@webgpu/types" />
// What a user of the kernels calls: a device, weights and VPTQ layers uploaded, one dispatch per kernel recorded
// and submitted, errors. Shader text is in ./wgsl, the CPU twins in ./cpu, the building blocks for writing more
// kernels in the same style (as @vptq/runtime does) in ./authoring, the benchmarks in ./bench.
export { acquireDevice } from './device';
export type { AcquireDeviceOptions, DeviceInfo } from './device';
export { AdapterUnavailableError, DeviceLostError, GpuValidationError, ShaderCompilationError, WebGpuError } from './errors';
export type { WebGpuErrorCode } from './errors';
export { captureGpuErrors, submitDispatches } from './dispatch';
export type { KernelDispatch } from './dispatch';
export type { BufferBinding } from './buffers';
export { allocateWeights, describeWeights, uploadWeights } from './gpu-weights';
export type { GpuWeights, UploadWeightsOptions, WeightFormat, WeightWindow } from './gpu-weights';
export { GpuVqLayer, uploadVqLayer, uploadVqLayers } from './vq-layer/upload-vq-layer';
export type { UploadVqLayerOptions } from './vq-layer/upload-vq-layer';
export type { VqIndexLayout } from './vq-layer/lane-index-layout';
export { createVqGemvDispatch, maxVqGemvTokens, maxVqGemvVectorLength, vqGemvCoversRows, vqStackMismatch } from './vq-gemv/vq-gemv';
export type { VqGemvBuffers, VqGemvOptions, VqGemvShape } from './vq-gemv/vq-gemv';
export { createVqDequantDispatch, vqDequantByteLength } from './vq-dequant/vq-dequant';
export { createGemvDispatch, maxGemvTokens } from './gemv/gemv';
export { createGemmDispatch } from './gemm/gemm';
export { createRmsNormDispatch } from './rms-norm/rms-norm';
export { createRopeKvAppendDispatch } from './rope-kv-append/rope-kv-append';
export { attentionPartialsByteLength, createAttentionDispatch } from './attention/attention';
export { planAttentionSplits } from './attention/plan-attention-splits';
export { createSwigluDispatch } from './swiglu/swiglu';
export { createAddDispatch } from './add/add';
export { createArgmaxDispatch } from './argmax/argmax';
export { createEmbeddingDispatch } from './embedding/embedding';
export { createKmeansAssignDispatch } from './kmeans-assign/kmeans-assign';
