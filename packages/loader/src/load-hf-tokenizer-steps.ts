import { createHfTokenizer } from './create-hf-tokenizer';
import type { Steps } from './loader-steps';
import type { ModelFiles } from './model-files';
import type { Tokenizer } from './model-types';
import { readJsonSteps } from './read-json-file';

/**
 * Loads the Hugging Face tokenizer of a model directory (see `loadHfTokenizer` of `@vptq/loader/node`):
 * `tokenizer.json` (required), `tokenizer_config.json` and `config.json` (optional, for BOS/EOS).
 */
export function* loadHfTokenizerSteps(fn: string, dir: ModelFiles): Steps<Tokenizer> {
  const tokenizerJson = (yield* readJsonSteps(fn, dir, 'tokenizer.json', 'VPTQ_LOADER_BAD_TOKENIZER', false)) as Record<string, unknown>;
  const tokenizerConfig = (yield* readJsonSteps(fn, dir, 'tokenizer_config.json', 'VPTQ_LOADER_BAD_TOKENIZER', true)) ?? {};
  const modelConfig = yield* readJsonSteps(fn, dir, 'config.json', 'VPTQ_LOADER_BAD_CONFIG', true);
  return createHfTokenizer(fn, dir.pathOf('tokenizer.json'), tokenizerJson, tokenizerConfig, modelConfig);
}
