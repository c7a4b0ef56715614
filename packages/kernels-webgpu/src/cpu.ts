// `@vptq/kernels-webgpu/cpu`: the CPU twin of each kernel, the reference its parity tests compare against (the
// VQ dequantization's twin is `dequantizeVptqLayer` of @vptq/pack-format, the k-means assignment's is
// `assignNearest` of @vptq/kmeans, and the GPU k-means engine's is `createCpuKmeansEngine` of @vptq/kmeans/engine).
export { addCpu } from './add/add-cpu';
export { argmaxCpu } from './argmax/argmax-cpu';
export { attentionCpu } from './attention/attention-cpu';
export type { AttentionShape } from './attention/attention-cpu';
export { embeddingCpu } from './embedding/embedding-cpu';
export { linearCpu } from './gemv/linear-cpu';
export { rmsNormCpu } from './rms-norm/rms-norm-cpu';
export { ropeCpu, ropeInverseFrequencies } from './rope/rope-cpu';
export type { RopeLayout, RopeShape } from './rope/rope-cpu';
export { ropeKvAppendCpu } from './rope-kv-append/rope-kv-append-cpu';
export type { RopeKvAppendInputs, RopeKvAppendShape } from './rope-kv-append/rope-kv-append-cpu';
export { splitAttentionCpu } from './attention/split-attention-cpu';
export { swigluCpu } from './swiglu/swiglu-cpu';
export { vqGemvCpu } from './vq-gemv/vq-gemv-cpu';
