export type { LlamaConfig, ModelSource, TensorInfo, Tokenizer } from './model-types';
