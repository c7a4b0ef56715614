// A README fragment that reads a model over HTTP (`<!-- test:pack uses: modelUrl; replace: 'https://…' => modelUrl -->`)
// gets `modelUrl`: the packed stories260K directory of its run folder (see scripts/test-pack.mjs), served from
// 127.0.0.1 with HTTP Range requests, as a web server would. The server is unref'd, so the example exits as usual.
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';

const folder = process.cwd();
const server = createServer((request, response) => {
  const path = normalize(join(folder, decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)));
  let size: number;
  try {
    if (!path.startsWith(folder + sep)) throw new Error('outside');
    size = statSync(path).size;
  } catch {
    response.writeHead(404).end();
    return;
  }
  const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
  if (range === null) {
    response.writeHead(200, { 'content-length': size, 'accept-ranges': 'bytes' });
    if (request.method === 'HEAD') response.end();
    else createReadStream(path).pipe(response);
    return;
  }
  const start = Number(range[1]);
  const end = Math.min(range[2] === '' ? size - 1 : Number(range[2]), size - 1);
  response.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${size}` });
  if (request.method === 'HEAD') response.end();
  else createReadStream(path, { start, end }).pipe(response);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
server.unref();

/** URL of the packed stories260K directory (`stories260K-v8-k256-256/`) of the run folder. */
export const modelUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stories260K-v8-k256-256/`;
