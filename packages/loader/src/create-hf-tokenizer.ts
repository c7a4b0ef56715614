import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';

import { LoaderError } from './loader-error';
import type { Tokenizer } from './model-types';

/**
 * Wraps a `@huggingface/tokenizers` Tokenizer built from tokenizer.json (+ tokenizer_config.json) in the
 * loader's {@link Tokenizer} interface. BOS/EOS come from tokenizer_config.json (`bos_token`, `eos_token`),
 * then from config.json (`bos_token_id`, `eos_token_id`); a tokenizer without BOS (Qwen2) uses its EOS as
 * BOS, the document separator lm-evaluation-harness also falls back to.
 */
export function createHfTokenizer(
  fn: string,
  path: string,
  tokenizerJson: Record<string, unknown>,
  tokenizerConfig: Record<string, unknown>,
  modelConfig: Record<string, unknown> | undefined,
): Tokenizer {
  let hf: HfTokenizer;
  try {
    hf = new HfTokenizer(tokenizerJson, tokenizerConfig);
  } catch (error) {
    throw new LoaderError(
      'VPTQ_LOADER_BAD_TOKENIZER',
      `${fn}: ${path}: @huggingface/tokenizers cannot build this tokenizer (${(error as Error).message})`,
      { path, cause: error },
    );
  }

  let vocabSize = 0;
  for (const id of hf.get_vocab(true).values()) vocabSize = Math.max(vocabSize, id + 1);
  if (vocabSize === 0) {
    throw new LoaderError('VPTQ_LOADER_BAD_TOKENIZER', `${fn}: ${path}: the vocabulary is empty`, {
      path,
      field: 'model.vocab',
    });
  }

  const tokenId = (key: 'bos' | 'eos'): number | undefined => {
    const token = tokenizerConfig[`${key}_token`];
    const content =
      typeof token === 'string'
        ? token
        : typeof token === 'object' && token !== null && typeof (token as { content?: unknown }).content === 'string'
          ? (token as { content: string }).content
          : undefined;
    if (content !== undefined) {
      const id = hf.token_to_id(content);
      if (id === undefined) {
        throw new LoaderError(
          'VPTQ_LOADER_BAD_TOKENIZER',
          `${fn}: ${path}: tokenizer_config.json ${key}_token ${JSON.stringify(content)} is not in the vocabulary`,
          { path, field: `${key}_token` },
        );
      }
      return id;
    }
    const fromConfig = modelConfig?.[`${key}_token_id`];
    const id = Array.isArray(fromConfig) ? fromConfig[0] : fromConfig;
    return Number.isInteger(id) && (id as number) >= 0 && (id as number) < vocabSize ? (id as number) : undefined;
  };
  const eosId = tokenId('eos');
  if (eosId === undefined) {
    throw new LoaderError(
      'VPTQ_LOADER_BAD_TOKENIZER',
      `${fn}: ${path}: no EOS token (expected eos_token in tokenizer_config.json or eos_token_id in config.json)`,
      { path, field: 'eos_token' },
    );
  }
  const bosId = tokenId('bos') ?? eosId;

  const checkIds = (name: string, ids: readonly number[]): void => {
    if (!Array.isArray(ids)) throw new TypeError(`${name}: ids must be an array of token ids (got ${typeof ids})`);
    ids.forEach((id, index) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw new RangeError(`${name}: ids[${index}] must be an integer token id below ${vocabSize} (got ${id})`);
      }
    });
  };
  // BOS and EOS print nothing, as in the llama2.c tokenizer; other special tokens print their text.
  const decodeText = (ids: readonly number[]): string => {
    const printable = ids.filter((id) => id !== bosId && id !== eosId);
    return printable.length === 0 ? '' : hf.decode(printable, { skip_special_tokens: false });
  };

  return {
    vocabSize,
    bosId,
    eosId,
    encode(text: string, options: { readonly bos?: boolean; readonly eos?: boolean } = {}): number[] {
      if (typeof text !== 'string') throw new TypeError(`encode: text must be a string (got ${typeof text})`);
      const ids = text.length === 0 ? [] : hf.encode(text, { add_special_tokens: false }).ids;
      if (options.bos) ids.unshift(bosId);
      if (options.eos) ids.push(eosId);
      return ids;
    },
    decode(ids: readonly number[]): string {
      checkIds('decode', ids);
      return decodeText(ids);
    },
    decodeToken(previous: number, token: number): string {
      checkIds('decodeToken', [token]);
      // Decoders such as SentencePiece's strip a leading space from the whole text, so a token's text is what
      // it adds after its predecessor, not what it decodes to alone.
      const prefix = Number.isInteger(previous) && previous >= 0 && previous < vocabSize ? [previous] : [];
      const head = decodeText(prefix);
      const full = decodeText([...prefix, token]);
      return full.startsWith(head) ? full.slice(head.length) : decodeText([token]);
    },
  };
}
