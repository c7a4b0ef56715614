import { DistributedError } from './distributed-error';

/** Where the work queue lives: a Redis server, from `--queue redis://[user:password@]HOST:PORT[/DB]`. */
export interface QueueLocation {
  readonly host: string;
  readonly port: number;
  /** Redis database number (the URL's path), default 0. */
  readonly db: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** `rediss://`: TLS. */
  readonly tls: boolean;
  /** The URL for messages, with the password replaced by `***`. */
  readonly display: string;
}

/**
 * Parses a queue URL: `redis://HOST:PORT` or `rediss://HOST:PORT` (TLS), optionally with `user:password@` and a
 * database number as the path (`/2`). The port must be given: a worker pointed at a default port by accident
 * would wait on the wrong server.
 *
 * @throws {DistributedError} `VPTQ_QUEUE_URL` naming the URL and the form expected.
 */
export function parseQueueUrl(text: string): QueueLocation {
  const expected = 'expected redis://HOST:PORT (or rediss://HOST:PORT for TLS, optionally user:password@ and /DB)';
  const fail = (why: string): never => {
    throw new DistributedError('VPTQ_QUEUE_URL', `--queue ${redact(text)}: ${why}; ${expected}`, { permanent: true });
  };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('not a URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') fail(`unsupported scheme ${url.protocol}`);
  if (url.hostname === '') fail('no host');
  if (url.port === '') fail('no port');
  const port = Number(url.port);
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path)) fail(`the path must be a database number (got /${path})`);
  const db = path === '' ? 0 : Number(path);
  if (db > 65535) fail(`database ${db} is out of range`);
  if (url.search !== '' || url.hash !== '') fail('query strings and fragments are not read');
  const username = url.username === '' ? undefined : decodeURIComponent(url.username);
  const password = url.password === '' ? undefined : decodeURIComponent(url.password);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port, db, username, password, tls: url.protocol === 'rediss:', display: redact(text) };
}

/** `text` with a URL password replaced by `***`, for messages and logs. */
function redact(text: string): string {
  return text.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}
