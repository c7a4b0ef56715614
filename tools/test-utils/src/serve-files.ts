import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';

/** What {@link serveFiles} serves and how. */
export interface ServeFilesOptions {
  /** Honour `Range: bytes=a-b` with 206 answers (default true); false answers every GET with the whole file (200), as a server without range support does. */
  readonly ranges?: boolean;
  /** Send `Content-Range` on 206 answers (default true); false hides it, as a CORS policy that does not expose it does. */
  readonly exposeContentRange?: boolean;
}

/** One request the server saw. */
export interface ServedRequest {
  readonly method: string;
  /** The path below the base URL, decoded. */
  readonly path: string;
  readonly range: string | undefined;
  readonly status: number;
}

/** A running test file server. */
export interface FileServer {
  /** `http://127.0.0.1:<port>/`; `<base><mount>/<file>` is `<dir>/<file>`. */
  readonly url: string;
  /** Every request so far, in order. */
  readonly requests: ServedRequest[];
  /** Answers with this status instead (for failure tests) when it returns one. */
  fail: ((path: string) => number | undefined) | undefined;
  close(): Promise<void>;
}

/**
 * Test helper: serves directories over HTTP on 127.0.0.1 (a free port), `mounts` mapping a first path segment to
 * a directory (`{ stories: fixtureDir }` serves `<url>stories/stories260K.bin`). GET and HEAD; a missing file is
 * 404; a single `bytes=a-b` / `bytes=a-` range is honoured per `options.ranges`, an unsatisfiable one is 416.
 */
export async function serveFiles(mounts: Readonly<Record<string, string>>, options: ServeFilesOptions = {}): Promise<FileServer> {
  const ranges = options.ranges ?? true;
  const exposeContentRange = options.exposeContentRange ?? true;
  const requests: ServedRequest[] = [];
  const state: { fail: FileServer['fail'] } = { fail: undefined };
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname).replace(/^\//, '');
    const range = request.headers.range;
    const answer = (status: number, headers: Record<string, string | number>, body?: Uint8Array): void => {
      requests.push({ method: request.method ?? 'GET', path, range, status });
      response.writeHead(status, headers);
      response.end(request.method === 'HEAD' ? undefined : body);
    };
    const failure = state.fail?.(path);
    if (failure !== undefined) return answer(failure, { 'Content-Length': 0 });
    const [mount, ...rest] = path.split('/');
    const dir = mounts[mount];
    const file = dir === undefined ? undefined : normalize(join(dir, ...rest));
    if (file === undefined || !file.startsWith(normalize(dir) + sep) || !existsSync(file) || !statSync(file).isFile()) {
      return answer(404, { 'Content-Length': 0 });
    }
    const bytes = readFileSync(file);
    const match = ranges && typeof range === 'string' ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    if (match === null) return answer(200, { 'Content-Length': bytes.byteLength, 'Accept-Ranges': ranges ? 'bytes' : 'none' }, bytes);
    const start = Number(match[1]);
    const end = Math.min(match[2] === '' ? bytes.byteLength - 1 : Number(match[2]), bytes.byteLength - 1);
    if (start >= bytes.byteLength || end < start) return answer(416, { 'Content-Range': `bytes */${bytes.byteLength}`, 'Content-Length': 0 });
    const headers: Record<string, string | number> = { 'Content-Length': end - start + 1, 'Accept-Ranges': 'bytes' };
    if (exposeContentRange) headers['Content-Range'] = `bytes ${start}-${end}/${bytes.byteLength}`;
    return answer(206, headers, bytes.subarray(start, end + 1));
  });
  // Idle connections stay open until close(): a server timing one out just as the client reuses it resets it.
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    get fail() {
      return state.fail;
    },
    set fail(value) {
      state.fail = value;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
