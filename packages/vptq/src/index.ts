export { load } from './load';
export type { LoadedModel, LoadOptions } from './load';
export { openModelWithTokenizer } from './load-model';
export type { OpenedModel } from './load-model';
export { generate, perplexity } from '@vptq/runtime';
export type { GenerateOptions, GenerateResult, PerplexityOptions, PerplexityResult } from '@vptq/runtime';
export { quantize } from './quantize/quantize-model';
export type { QuantizeResult } from './quantize/quantize-model';
export type { QuantizeEvent, QuantizeMethod, QuantizeOptions, VptqSettings } from './quantize/quantize-options';
