import { loadTokenizerFiles, openModelFiles } from '@vptq/loader';
import type { ModelFiles, ModelSource, Tokenizer, VptqModelSource } from '@vptq/loader';

import { isLlama2cTokenizerName, resolveModelLocation } from './model-location';
import type { ModelLocation } from './model-location';

/** A model source and its tokenizer, opened from {@link ModelLocation}s. */
export interface OpenedModelAt {
  readonly source: ModelSource | VptqModelSource;
  readonly tokenizer: Tokenizer;
}

/**
 * Opens a model and its tokenizer: `tokenizer` when given; otherwise the model directory's own (HF and VPTQ
 * directories carry one), or for a llama2.c `.bin` the only `tok*.bin` / `tokenizer.bin` beside it (where the files
 * can be listed; on a web server, `tokenizer.bin`).
 * @throws {Error} naming the model when no tokenizer is given and none can be found unambiguously.
 */
export async function openModelAt(fn: string, location: ModelLocation, tokenizer?: ModelLocation): Promise<OpenedModelAt> {
  const files = resolveModelLocation(fn, location);
  const tokenizerFiles = tokenizer === undefined ? undefined : resolveModelLocation(fn, tokenizer);
  const source = await openModelFiles(files);
  try {
    return { source, tokenizer: await loadTokenizerFiles(tokenizerFiles ?? (await tokenizerBeside(files))) };
  } catch (error) {
    source.close();
    throw error;
  }
}

/** The files themselves for a directory; for a llama2.c checkpoint, the tokenizer file beside it. */
async function tokenizerBeside(files: ModelFiles): Promise<ModelFiles> {
  const entry = files.entry;
  if (entry === undefined) return files;
  const folder = entry.slice(0, entry.lastIndexOf('/') + 1);
  let candidates: string[];
  if (files.list) {
    candidates = (await files.list()).filter(
      (name) => name !== entry && name.startsWith(folder) && !name.slice(folder.length).includes('/') && isLlama2cTokenizerName(name.slice(folder.length)),
    );
  } else {
    const source = await files.open(`${folder}tokenizer.bin`);
    source?.close?.();
    candidates = source === undefined ? [] : [`${folder}tokenizer.bin`];
  }
  if (candidates.length !== 1) {
    throw new Error(
      `no tokenizer given for ${files.path}: pass options.tokenizer (found ${candidates.length === 0 ? `no ${files.list ? 'tok*.bin' : 'tokenizer.bin'}` : candidates.join(', ')} beside the model)`,
    );
  }
  const name = candidates[0];
  return { path: files.pathOf(name), entry: name, pathOf: (other) => files.pathOf(other), open: (other) => files.open(other) };
}
