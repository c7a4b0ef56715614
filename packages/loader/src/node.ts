// `@vptq/loader/node`: models and tokenizers on disk, opened by path with `fs.readSync` (synchronous), and the
// llama2.c → Hugging Face converter, which writes a directory. The main entry reads the same formats from any
// ModelFiles (URLs, Blobs, bytes) and runs in browsers.
export { nodeModelFiles } from './node-model-files';
export { openModel } from './open-model';
export { openHfModel } from './open-hf-model';
export { openVptqModel } from './open-vptq-model';
export { openLlama2c } from './open-llama2c';
export { loadTokenizer } from './load-tokenizer';
export { loadHfTokenizer } from './load-hf-tokenizer';
export { loadLlama2cTokenizer } from './load-llama2c-tokenizer';
export type { LoadLlama2cTokenizerOptions } from './load-llama2c-tokenizer';
export { convertLlama2cToHf } from './convert-llama2c-to-hf';
export type { ConvertLlama2cToHfOptions, ConvertLlama2cToHfResult } from './convert-llama2c-to-hf';
