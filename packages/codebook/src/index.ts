export { quantizeVptqLayer } from './quantize-vptq-layer';
export { quantizeVptqLayerAsync } from './quantize-vptq-layer-async';
export type { VptqAsyncOptions } from './quantize-vptq-layer-async';
export type { VptqOptions, VptqPhase } from './vptq-options';
export { planVptqLayer } from './plan-vptq-layer';
export type { VptqLayoutOptions } from './plan-vptq-layer';
export type { VptqKmeansRun, VptqLayerResult, VptqProxyError } from './vptq-layer-result';
export { quantizeRtn } from './quantize-rtn';
export type { ScalarQuantization, ScalarQuantizationOptions } from './quantize-rtn';
export { quantizeGptq } from './quantize-gptq';
export type { GptqOptions } from './quantize-gptq';
export { CodebookError } from './codebook-error';
export type { CodebookErrorCode } from './codebook-error';
// The weight of a layer is a kmeans Matrix: row-major [outFeatures, inFeatures] f32.
export type { Matrix } from '@vptq/kmeans';
