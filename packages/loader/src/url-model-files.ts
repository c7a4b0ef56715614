import { absoluteUrl, fetchByteSource } from './fetch-byte-source';
import type { FetchByteSourceOptions } from './fetch-byte-source';
import { LoaderError } from './loader-error';
import type { ModelFiles } from './model-files';

/**
 * The {@link ModelFiles} of a model on a web server (or the Hugging Face Hub: `…/resolve/main/`): a URL whose
 * last path segment ends in `.bin` or `.json` names one file (`entry`: a llama2.c checkpoint, a tokenizer file),
 * any other URL a directory. Each file opens with {@link fetchByteSource}: HTTP Range requests where the server
 * honours them, else one whole-file request; HTTP 404 means no such file. A web server cannot list a directory.
 *
 * @example
 * ```ts
 * const model = await openModelFiles(urlModelFiles('/models/stories260K-vptq/'));
 * const tokenizer = await loadTokenizerFiles(urlModelFiles('/models/stories260K-vptq/'));
 * ```
 * @param url - absolute, or relative to the page or worker.
 * @throws {TypeError} if `url` is not a URL.
 */
export function urlModelFiles(url: string | URL, options: FetchByteSourceOptions = {}): ModelFiles {
  const given = absoluteUrl('urlModelFiles', url);
  const last = given.pathname.slice(given.pathname.lastIndexOf('/') + 1);
  const isFile = /\.(bin|json)$/i.test(last);
  const dir = new URL(given.href);
  dir.search = '';
  dir.hash = '';
  if (isFile) dir.pathname = dir.pathname.slice(0, dir.pathname.length - last.length);
  else if (!dir.pathname.endsWith('/')) dir.pathname += '/';
  const entry = isFile ? decodeURIComponent(last) : undefined;
  const pathOf = (name: string): string =>
    name === entry ? given.href : new URL(name.split('/').map(encodeURIComponent).join('/'), dir).href;
  return {
    path: isFile ? given.href : dir.href,
    entry,
    pathOf,
    async open(name: string) {
      try {
        return await fetchByteSource(pathOf(name), options);
      } catch (error) {
        if (error instanceof LoaderError && error.code === 'VPTQ_LOADER_NOT_FOUND') return undefined;
        throw error;
      }
    },
  };
}
