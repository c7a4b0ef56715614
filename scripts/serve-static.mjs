#!/usr/bin/env node
// A tiny static file server (node:http) for built pages: GET/HEAD, HTTP Range requests (one range, 206 with
// Content-Range; 416 outside the file), index.html for directories, content types for what the demo serves, no
// caching, nothing outside its root. `node scripts/serve-static.mjs DIR [--port N] [--host H]` prints the URL;
// `startStaticServer(dir)` does the same from a script (the browser test).
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.css': 'text/css',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/**
 * Serves `dir` on `host:port` (port 0: any free port).
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export function startStaticServer(dir, { port = 0, host = '127.0.0.1' } = {}) {
  const root = resolve(dir);
  if (!existsSync(root)) throw new Error(`serve-static: ${root} does not exist (build it first)`);
  const server = createServer((request, response) => {
    try {
      const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
      let file = resolve(join(root, path));
      if (file !== root && !file.startsWith(root + sep)) return end(response, 403);
      if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
      if (!existsSync(file) || !statSync(file).isFile()) return end(response, 404);
      if (request.method !== 'GET' && request.method !== 'HEAD') return end(response, 405);
      const size = statSync(file).size;
      const headers = { 'Content-Type': types[extname(file)] ?? 'application/octet-stream', 'Accept-Ranges': 'bytes', 'Cache-Control': 'no-store' };
      const range = /^bytes=(\d*)-(\d*)$/.exec(request.headers.range ?? '');
      if (request.headers.range && range) {
        let start = range[1] === '' ? size - Number(range[2]) : Number(range[1]);
        let last = range[1] === '' || range[2] === '' ? size - 1 : Math.min(Number(range[2]), size - 1);
        if (range[1] === '' && range[2] === '') start = size;
        start = Math.max(0, start);
        if (start >= size || last < start) {
          response.writeHead(416, { 'Content-Range': `bytes */${size}` });
          return response.end();
        }
        response.writeHead(206, { ...headers, 'Content-Length': last - start + 1, 'Content-Range': `bytes ${start}-${last}/${size}` });
        if (request.method === 'HEAD') return response.end();
        return createReadStream(file, { start, end: last }).pipe(response);
      }
      response.writeHead(200, { ...headers, 'Content-Length': size });
      if (request.method === 'HEAD') return response.end();
      createReadStream(file).pipe(response);
    } catch (error) {
      end(response, 500, String(error));
    }
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolvePromise({
        url: `http://${host}:${address.port}/`,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

function end(response, status, body = '') {
  response.writeHead(status, { 'Content-Type': 'text/plain' });
  response.end(body || String(status));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const at = args.indexOf(name);
    return at < 0 ? fallback : args.splice(at, 2)[1];
  };
  const port = Number(option('--port', process.env.PORT ?? 5173));
  const host = option('--host', '127.0.0.1');
  const dir = args[0] ?? '.';
  const { url } = await startStaticServer(dir, { port, host });
  console.log(`serving ${resolve(dir)} at ${url} (Ctrl-C to stop)`);
}
