// `@vptq/kernels-webgpu/wgsl`: the shader text of every kernel, byte for byte what the pipelines compile (sizes
// travel in uniforms, compile-time choices in override constants), for reading, reuse and compile tests.
export { addWgsl } from './add/add.wgsl';
export { argmaxWgsl } from './argmax/argmax.wgsl';
export { attentionCombineWgsl } from './attention/attention-combine.wgsl';
export { attentionWgsl } from './attention/attention.wgsl';
export { copyWgsl } from './copy/copy.wgsl';
export { embeddingWgsl } from './embedding/embedding.wgsl';
export { gemmWgsl } from './gemm/gemm.wgsl';
export { gemvSubgroupsWgsl, gemvWgsl } from './gemv/gemv.wgsl';
export { hessianAccumulatorWgsl } from './hessian-accumulator/hessian-accumulator.wgsl';
export { kmeansAssignWgsl } from './kmeans-assign/kmeans-assign.wgsl';
export { kmeansMembersWgsl } from './kmeans-members/kmeans-members.wgsl';
export { kmeansReduceWgsl } from './kmeans-reduce/kmeans-reduce.wgsl';
export { rmsNormWgsl } from './rms-norm/rms-norm.wgsl';
export { ropeKvAppendWgsl } from './rope-kv-append/rope-kv-append.wgsl';
export { swigluWgsl } from './swiglu/swiglu.wgsl';
export { vqDequantWgsl } from './vq-dequant/vq-dequant.wgsl';
export { maxVqGemvProjections, vqGemvReduceWgsl, vqGemvSubgroupsWgsl, vqGemvWgsl } from './vq-gemv/vq-gemv.wgsl';
export { vqGemvLanesWgsl } from './vq-gemv/vq-gemv-lanes.wgsl';
export { vqGemvOnChipBlocksWgsl, vqGemvOnChipWordsWgsl, vqGemvPrepareXWgsl } from './vq-gemv/vq-gemv-onchip.wgsl';
