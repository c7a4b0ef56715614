export { LoaderError } from './loader-error';
export type { LoaderErrorCode, LoaderErrorDetails } from './loader-error';
export type { LlamaConfig, ModelSource, TensorInfo, Tokenizer } from './model-types';
export { openLlama2c } from './open-llama2c';
export { loadLlama2cTokenizer } from './load-llama2c-tokenizer';
export type { LoadLlama2cTokenizerOptions } from './load-llama2c-tokenizer';
