import { createByteSource } from '@vptq/pack-format/safetensors';
import type { ByteSource } from '@vptq/pack-format/safetensors';

import { LoaderError } from './loader-error';

/** Options of {@link fetchByteSource} and `urlModelFiles`. */
export interface FetchByteSourceOptions {
  /** The `fetch` to call. Default `globalThis.fetch` (browsers, workers, Node ≥ 18). */
  readonly fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /**
   * Settings every request gets: `credentials`, `headers` (an `Authorization` header for a private model),
   * `signal`, `cache`. The loader sets `Range` itself. A request that fails at the network level is sent once more.
   */
  readonly init?: RequestInit;
}

const fn = 'fetchByteSource';

/**
 * `value` as a URL: absolute, or relative to the page or worker (`globalThis.location`) where there is one.
 * @throws {TypeError} naming `caller` for anything else.
 */
export function absoluteUrl(caller: string, value: string | URL): URL {
  if (value instanceof URL) return new URL(value.href);
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  if (typeof value === 'string' && value.length > 0) {
    try {
      return base === undefined ? new URL(value) : new URL(value, base);
    } catch {
      // Reported below.
    }
  }
  throw new TypeError(
    `${caller}: url must be an absolute URL${base === undefined ? '' : ' or one relative to the page'} (got ${JSON.stringify(String(value))})`,
  );
}
// The first request asks for this much: all of a config.json and most safetensors headers come back in it.
const probeByteLength = 64 * 1024;

/**
 * Opens the file at `url` for random access over HTTP. The first request asks for its first 64 KiB with a
 * `Range` header; a server that honours ranges (status 206) then serves each later read with a request of its
 * own (`Range: bytes=start-end`), and the source answers reads with Promises. A server that ignores ranges
 * (status 200) sends the whole file at once, which is kept, and the source then answers reads directly, as does
 * the source of a file that fit in the first response. The length comes from `Content-Range` (or a `HEAD`
 * request's `Content-Length` where CORS hides it).
 *
 * @example
 * ```ts
 * const source = await fetchByteSource('https://example.com/models/stories260K.bin');
 * const header = await source.read(0, 28);
 * ```
 * @throws {TypeError} if `url` is not a URL or there is no `fetch`.
 * @throws {LoaderError} VPTQ_LOADER_NOT_FOUND for HTTP 404/410, VPTQ_LOADER_IO for a failed request or another
 * status; later reads reject the same way.
 */
export async function fetchByteSource(url: string | URL, options: FetchByteSourceOptions = {}): Promise<ByteSource> {
  const href = absoluteUrl(fn, url).href;
  const doFetch = options.fetch ?? globalThis.fetch;
  if (typeof doFetch !== 'function') throw new TypeError(`${fn}: there is no fetch here; pass options.fetch`);
  const send = async (range: string | undefined, method = 'GET'): Promise<Response> => {
    const headers = new Headers(options.init?.headers);
    if (range !== undefined) headers.set('Range', range);
    try {
      return await doFetch(href, { ...options.init, method, headers });
    } catch (first) {
      // A network-level failure (a kept-alive connection the server just closed) is worth one more try; an
      // aborted request is not.
      if (options.init?.signal?.aborted) throw new LoaderError('VPTQ_LOADER_IO', `${fn}: ${method} ${href} was aborted`, { path: href, cause: first });
      try {
        return await doFetch(href, { ...options.init, method, headers });
      } catch (error) {
        throw new LoaderError('VPTQ_LOADER_IO', `${fn}: ${method} ${href} failed (${(error as Error).message})`, { path: href, cause: error });
      }
    }
  };

  const first = await send(`bytes=0-${probeByteLength - 1}`);
  if (first.status === 206) {
    const head = await bodyOf(href, first);
    const total = parseContentRange(first.headers.get('Content-Range'))?.total ?? (await lengthFromHead(send));
    if (total === undefined) return createByteSource(await bodyOf(href, await expectWhole(href, await send(undefined))));
    if (head.byteLength >= total) return createByteSource(head.subarray(0, total));
    return createRangeSource(href, total, head, send);
  }
  if (first.status === 416) {
    // Only an empty file cannot satisfy a range that starts at 0.
    await first.body?.cancel();
    return createByteSource(new Uint8Array(0));
  }
  return createByteSource(await bodyOf(href, await expectWhole(href, first)));
}

/** The status-200 response of a whole-file request, or the error its status means. */
async function expectWhole(href: string, response: Response): Promise<Response> {
  if (response.status === 200) return response;
  await response.body?.cancel();
  throw statusError(href, response);
}

function statusError(href: string, response: Response): LoaderError {
  const missing = response.status === 404 || response.status === 410;
  return new LoaderError(
    missing ? 'VPTQ_LOADER_NOT_FOUND' : 'VPTQ_LOADER_IO',
    `${fn}: ${href} ${missing ? 'does not exist' : 'cannot be read'} (HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''})`,
    { path: href },
  );
}

async function bodyOf(href: string, response: Response): Promise<Uint8Array> {
  try {
    return new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    throw new LoaderError('VPTQ_LOADER_IO', `${fn}: reading the body of ${href} failed (${(error as Error).message})`, { path: href, cause: error });
  }
}

/** `Content-Range: bytes start-end/total` (total `*` when unknown). */
function parseContentRange(header: string | null): { start: number; total: number | undefined } | undefined {
  const match = header === null ? null : /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(header);
  if (match === null) return undefined;
  return { start: Number(match[1]), total: match[3] === '*' ? undefined : Number(match[3]) };
}

async function lengthFromHead(send: (range: string | undefined, method?: string) => Promise<Response>): Promise<number | undefined> {
  const response = await send(undefined, 'HEAD').catch(() => undefined);
  const length = response?.ok ? Number(response.headers.get('Content-Length') ?? Number.NaN) : Number.NaN;
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

function createRangeSource(
  href: string,
  byteLength: number,
  head: Uint8Array,
  send: (range: string | undefined) => Promise<Response>,
): ByteSource<Promise<Uint8Array>> {
  // Set when the server stops honouring ranges and sends the whole file: later reads come from it.
  let whole: Uint8Array | undefined;
  const fetchRange = async (start: number, end: number): Promise<Uint8Array> => {
    const response = await send(`bytes=${start}-${end - 1}`);
    if (response.status === 206) {
      const range = parseContentRange(response.headers.get('Content-Range'));
      if (range !== undefined && range.start !== start) {
        await response.body?.cancel();
        throw new LoaderError('VPTQ_LOADER_IO', `${fn}: ${href} answered a request for bytes ${start}.. with bytes ${range.start}..`, { path: href, byteOffset: start });
      }
      return bodyOf(href, response);
    }
    if (response.status === 200) {
      const bytes = await bodyOf(href, response);
      if (bytes.byteLength !== byteLength) {
        throw new LoaderError('VPTQ_LOADER_IO', `${fn}: ${href} changed size from ${byteLength} to ${bytes.byteLength} bytes while being read`, { path: href });
      }
      whole = bytes;
      return bytes.subarray(start, end);
    }
    await response.body?.cancel();
    throw statusError(href, response);
  };
  return {
    byteLength,
    read(byteOffset: number, length: number): Promise<Uint8Array> {
      if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || !Number.isSafeInteger(length) || length < 0) {
        return Promise.reject(new RangeError(`ByteSource.read: byteOffset and byteLength must be non-negative integers (got ${byteOffset}, ${length})`));
      }
      const start = Math.min(byteOffset, byteLength);
      const end = Math.min(byteOffset + length, byteLength);
      if (end <= start) return Promise.resolve(new Uint8Array(0));
      if (whole !== undefined) return Promise.resolve(whole.subarray(start, end));
      if (end <= head.byteLength) return Promise.resolve(head.subarray(start, end));
      return fetchRange(start, end);
    },
  };
}
