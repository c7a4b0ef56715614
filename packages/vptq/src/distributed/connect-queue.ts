import { Redis } from 'ioredis';
import type { RedisOptions } from 'bullmq';

import { DistributedError } from './distributed-error';
import type { QueueLocation } from './parse-queue-url';

/** The oldest Redis BullMQ runs on. */
export const minimumRedisVersion = '5.0.0';

/** How long a queue client waits for Redis: to connect at first, and reconnecting after a loss, in total. */
export interface QueueTimeouts {
  /** Milliseconds to connect and answer a PING at start. Default 5000. */
  readonly connectMs?: number;
  /** Milliseconds of reconnect attempts after a lost connection before giving up. Default 60 000. */
  readonly reconnectMs?: number;
}

/**
 * Checks that a Redis server answers at `location` (a PING and its version, within `connectMs`), then returns
 * the connection options every BullMQ client of the run uses: reconnects back off up to 2 s apiece and stop after
 * `reconnectMs` in total, so a server that went away ends the run with an error instead of waiting forever.
 *
 * @param who - `vptq quantize` or `vptq worker`, for the message.
 * @throws {DistributedError} `VPTQ_QUEUE_UNREACHABLE` naming the URL, the cause and what was expected there.
 */
export async function connectQueue(location: QueueLocation, who: string, timeouts: QueueTimeouts = {}): Promise<RedisOptions> {
  const connectMs = timeouts.connectMs ?? 5000;
  const reconnectMs = timeouts.reconnectMs ?? 60_000;
  const base: RedisOptions = {
    host: location.host,
    port: location.port,
    db: location.db,
    username: location.username,
    password: location.password,
    tls: location.tls ? {} : undefined,
    connectTimeout: connectMs,
  };
  const probe = new Redis({ ...base, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  // ioredis reports the cause (ECONNREFUSED, ENOTFOUND, a TLS failure) as an event; the promise only says "closed".
  let cause: Error | undefined;
  probe.on('error', (error: Error) => {
    cause ??= error;
  });
  let version: string;
  try {
    version = await withTimeout(
      (async () => {
        await probe.connect();
        await probe.ping();
        const info = await probe.info('server');
        return /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown';
      })(),
      connectMs,
    );
  } catch (error) {
    throw new DistributedError(
      'VPTQ_QUEUE_UNREACHABLE',
      `${who}: no Redis answered at ${location.display} (${(cause ?? (error as Error)).message}); expected a Redis ≥ ${minimumRedisVersion} server there, reachable from this machine (start one, e.g. redis-server --port ${location.port}, or fix --queue)`,
      { cause: error, permanent: true },
    );
  } finally {
    probe.disconnect();
  }
  if (version !== 'unknown' && compareVersions(version, minimumRedisVersion) < 0) {
    throw new DistributedError('VPTQ_QUEUE_UNREACHABLE', `${who}: Redis at ${location.display} is version ${version}; BullMQ needs ≥ ${minimumRedisVersion}`, { permanent: true });
  }
  // One outage for every connection of the run (BullMQ opens several): the first retry of any of them starts it, and
  // the first retries of the others, which follow within moments, do not move its start.
  let outageStart = 0;
  let lastRetry = Number.NEGATIVE_INFINITY;
  return {
    ...base,
    maxRetriesPerRequest: null,
    retryStrategy: (attempts: number) => {
      const now = Date.now();
      if (attempts === 1 && now - lastRetry > Math.min(5000, reconnectMs)) outageStart = now;
      lastRetry = now;
      if (now - outageStart > reconnectMs) return null;
      return Math.min(2000, 100 * attempts);
    },
  };
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/**
 * Watches the Redis server of `connection` (from {@link connectQueue}) on a connection of its own: `onLost` is called
 * once ioredis gives up reconnecting (after the `reconnectMs` of {@link connectQueue}), so a run whose Redis went away
 * ends with an error instead of waiting on its queue forever. Returns the function that stops watching.
 */
export function watchQueue(connection: RedisOptions, onLost: (error: Error) => void): () => void {
  const watcher = new Redis({ ...(connection as Record<string, unknown>), maxRetriesPerRequest: null, lazyConnect: false });
  let last: Error | undefined;
  let stopped = false;
  watcher.on('error', (error: Error) => {
    last = error;
  });
  watcher.on('end', () => {
    if (!stopped) onLost(last ?? new Error('the connection ended'));
  });
  return () => {
    stopped = true;
    watcher.disconnect();
  };
}
