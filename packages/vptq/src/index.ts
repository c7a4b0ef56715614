export { load } from './load';
export type { LoadedModel, LoadOptions } from './load';
export { openModelWithTokenizer } from './load-model';
export type { OpenedModel } from './load-model';
export { generate, perplexity } from '@vptq/runtime';
export type { GenerateOptions, GenerateResult, PerplexityOptions, PerplexityResult } from '@vptq/runtime';
