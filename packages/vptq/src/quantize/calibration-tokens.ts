import type { ModelSource, Tokenizer } from '@vptq/loader';

/**
 * Calibration tokens from a text: one BOS, then the text encoded as one stream (the calibration file's story
 * boundaries are not recoverable, see fixtures/tinystories-train-head), cut to `maxTokens`.
 */
export function encodeCalibration(tokenizer: Tokenizer, text: string, maxTokens = Number.POSITIVE_INFINITY): number[] {
  const tokens = tokenizer.encode(text, { bos: true });
  return tokens.length > maxTokens ? tokens.slice(0, maxTokens) : tokens;
}

/** `[tokens, hidden]` f32: the embedding row of every calibration token, the stream's start. */
export function embedCalibration(source: Pick<ModelSource, 'config' | 'readTensor'>, tokens: readonly number[]): Float32Array {
  const hidden = source.config.hiddenSize;
  const table = source.readTensor('model.embed_tokens.weight');
  const embeddings = new Float32Array(tokens.length * hidden);
  tokens.forEach((token, row) => embeddings.set(table.subarray(token * hidden, (token + 1) * hidden), row * hidden));
  return embeddings;
}
