// `@vptq/pack-format/safetensors`: the safetensors container (reading, writing, dtypes), beside the VPTQ layer
// format of the main entry; the loader reads every model file through it.
export { createByteSource } from './byte-source';
export type { ByteSource } from './byte-source';
export { maxSafetensorsHeaderByteLength, parseSafetensorsHeader } from './parse-safetensors-header';
export type { SafetensorsHeader, SafetensorsTensorInfo } from './parse-safetensors-header';
export { readSafetensorsTensor } from './read-safetensors-tensor';
export { createStoredTensorLookup } from './read-vptq-layer-tensors';
export { encodeSafetensors } from './encode-safetensors';
export type { SafetensorsTensorInput } from './encode-safetensors';
export { isSafetensorsDtype, safetensorsDtypeByteSize } from './safetensors-dtype';
export type { SafetensorsDtype } from './safetensors-dtype';
export { decodeTensorF32 } from './decode-tensor-f32';
export { decodeTensorIntegers, decodeTensorUint16, decodeTensorUint32 } from './decode-tensor-integers';
export { f16ArrayToF32, f16BitsToF32, f32ToF16Bits } from './f16-bits';
export { bf16BitsToF32, f32ToBf16Bits } from './bf16-bits';
