export { PackFormatError } from './pack-format-error';
export type { PackFormatErrorCode, PackFormatErrorOptions } from './pack-format-error';
export { createByteSource } from './byte-source';
export type { ByteSource } from './byte-source';
export { f16ArrayToF32, f16BitsToF32, f32ToF16Bits } from './f16-bits';
export { bf16BitsToF32, f32ToBf16Bits } from './bf16-bits';
export { isSafetensorsDtype, safetensorsDtypeByteSize } from './safetensors-dtype';
export type { SafetensorsDtype } from './safetensors-dtype';
export { maxSafetensorsHeaderByteLength, parseSafetensorsHeader } from './parse-safetensors-header';
export type { SafetensorsHeader, SafetensorsTensorInfo } from './parse-safetensors-header';
export { readSafetensorsTensor } from './read-safetensors-tensor';
export { decodeTensorF32 } from './decode-tensor-f32';
export { decodeTensorIntegers, decodeTensorUint16, decodeTensorUint32 } from './decode-tensor-integers';
export { encodeSafetensors } from './encode-safetensors';
export type { SafetensorsTensorInput } from './encode-safetensors';
export { packIndices, packedRowWords, readField, unpackIndices } from './pack-indices';
export type { PackIndicesOptions, PackedIndexLayout, UnpackedIndices } from './pack-indices';
export { parseVptqLayerConfig, toVptqLayerConfigJson } from './vptq-layer-config';
export type { VptqLayerConfig, VptqLayerConfigJson } from './vptq-layer-config';
export { getVptqLayerLayout } from './get-vptq-layer-layout';
export type { VptqLayerLayout } from './get-vptq-layer-layout';
export {
  findVptqLayerConfig,
  parseVptqQuantizationConfig,
  toVptqQuantizationConfigJson,
} from './vptq-quantization-config';
export type { VptqQuantizationConfig, VptqQuantizationConfigJson } from './vptq-quantization-config';
export { floatTensorFromF32, floatTensorToF32 } from './float-tensor';
export type { FloatTensor, FloatTensorDtype } from './float-tensor';
export { encodeVptqLayerTensors, getVptqLayerTensorSpecs } from './vptq-layer-tensors';
export type { VptqLayerTensorSpec, VptqLayerTensors } from './vptq-layer-tensors';
export { createStoredTensorLookup, readVptqLayerTensors } from './read-vptq-layer-tensors';
export type { StoredTensor, StoredTensorLookup } from './read-vptq-layer-tensors';
export { dequantizeLayer } from './dequantize-layer';
export { computeVptqLayerBits, computeVptqModelBits, sumVptqBits } from './compute-vptq-bits';
export type { ComputeVptqBitsOptions, VptqBits, VptqStoredBits } from './compute-vptq-bits';
