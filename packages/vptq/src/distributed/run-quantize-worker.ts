import { fileURLToPath } from 'node:url';

import type { Job, Worker } from 'bullmq';

import { createNodeDevice, releaseNodeDevice } from '../create-node-device';
import { createGpuQuantizeBackend } from '../quantize/gpu-quantize-backend';
import type { QuantizeBackend } from '../quantize/quantize-backend';
import { asJobError } from './as-job-error';
import { DistributedError } from './distributed-error';
import { ignoreClosedConnectionRejections } from './ignore-closed-connection-rejections';
import type { PathMap } from './path-map';
import { parseQueueUrl } from './parse-queue-url';
import { processProjectionJob } from './process-projection-job';
import type { ProjectionJobOutcome } from './process-projection-job';
import { projectionQueueName } from './projection-job';
import type { ProjectionJobData } from './projection-job';

/** {@link runQuantizeWorker}'s options. */
export interface QuantizeWorkerOptions {
  /** The work queue: `redis://HOST:PORT`, the coordinator's `--queue`. */
  readonly queue: string;
  /** `cpu`, `gpu` (the adapter Dawn picks) or `gpu:N` (Dawn's adapter N; see docs/gpu-selection.md). Default `cpu`. */
  readonly device?: string;
  /** Jobs at once (CPU: each in its own thread). Default 1: one worker per GPU, or per CPU socket's worth of cores. */
  readonly concurrency?: number;
  /**
   * Milliseconds a job's lock lasts without renewal (renewed every half of it while the job runs). A killed
   * worker's job goes back to the queue once its lock expired and a stalled check ran. Default 30 000.
   */
  readonly lockDurationMs?: number;
  /** Milliseconds between this worker's checks for stalled jobs (of killed workers). Default 30 000. */
  readonly stalledIntervalMs?: number;
  /** Times a job may stall (its worker killed) before it fails. Default 3. */
  readonly maxStalledCount?: number;
  /** How this machine mounts the coordinator's paths (`--path-map FROM=TO`). */
  readonly pathMap?: PathMap;
  /** Milliseconds to reach Redis at start. Default 5000. */
  readonly connectTimeoutMs?: number;
  /** Milliseconds of reconnect attempts after losing Redis before the worker stops with an error. Default 60 000. */
  readonly reconnectTimeoutMs?: number;
  /** Stops the worker (after the jobs in progress) when aborted. */
  readonly signal?: AbortSignal;
  /** One line per event (ready, job started, done, failed). */
  readonly log?: (message: string) => void;
}

/** What {@link runQuantizeWorker} did before it stopped. */
export interface QuantizeWorkerSummary {
  readonly completed: number;
  readonly failed: number;
}

/**
 * Takes projection jobs of `vptq quantize --queue` (`quantizeDistributed`) off the queue of its device kind and
 * quantizes them until `signal` aborts. CPU jobs run in worker threads (BullMQ's sandboxed processors), so the
 * job locks are renewed while a projection's arithmetic runs; GPU jobs run in this thread on one Dawn device.
 * Killed at any moment (even SIGKILL), its job is taken again by another worker once its lock expires.
 *
 * @example
 * ```ts
 * import { runQuantizeWorker } from 'vptq/node';
 * const stop = new AbortController();
 * process.on('SIGTERM', () => stop.abort());
 * await runQuantizeWorker({ queue: 'redis://10.0.0.5:6379', device: 'gpu:0', signal: stop.signal });
 * ```
 * @throws {DistributedError} `VPTQ_QUEUE_URL` / `VPTQ_QUEUE_UNREACHABLE` when the queue cannot be reached (at start,
 *   or for `reconnectTimeoutMs` later).
 * @throws {RangeError} for a bad `device` or option.
 */
export async function runQuantizeWorker(options: QuantizeWorkerOptions): Promise<QuantizeWorkerSummary> {
  const location = parseQueueUrl(options.queue);
  const device = parseWorkerDevice(options.device ?? 'cpu');
  const positive = (name: string, value: number | undefined, fallback: number) => {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`runQuantizeWorker: ${name} must be a positive integer (got ${value})`);
    return value;
  };
  const concurrency = positive('concurrency', options.concurrency, 1);
  const lockDuration = positive('lockDurationMs', options.lockDurationMs, 30_000);
  const stalledInterval = positive('stalledIntervalMs', options.stalledIntervalMs, 30_000);
  const maxStalledCount = positive('maxStalledCount', options.maxStalledCount, 3);
  const log = options.log ?? (() => {});
  const pathMap = options.pathMap ?? [];
  // BullMQ and ioredis load only when a worker runs (a fifth of a second that `vptq/node` users need not pay).
  const [{ Worker }, { connectQueue, watchQueue }] = await Promise.all([import('bullmq'), import('./connect-queue')]);
  const connection = await connectQueue(location, 'vptq worker', { connectMs: options.connectTimeoutMs, reconnectMs: options.reconnectTimeoutMs });

  let backend: QuantizeBackend | undefined;
  if (device.kind === 'gpu') {
    const created = await createNodeDevice({ adapterIndex: device.index });
    backend = createGpuQuantizeBackend(created.device, created.info, () => releaseNodeDevice(created.device));
  }
  const name = projectionQueueName(device.kind);
  const settings = { connection, concurrency, lockDuration, stalledInterval, maxStalledCount, autorun: false, name: `vptq-worker-${process.pid}` };
  let worker: Worker<ProjectionJobData, ProjectionJobOutcome>;
  if (backend) {
    const gpu = backend;
    worker = new Worker<ProjectionJobData, ProjectionJobOutcome>(name, async (job: Job<ProjectionJobData>) => {
      try {
        return await processProjectionJob(job.data, gpu, pathMap);
      } catch (error) {
        throw asJobError(error);
      }
    }, settings);
  } else {
    // The thread reads the path map from its environment (a copy of this process's).
    process.env.VPTQ_WORKER_PATH_MAP = JSON.stringify(pathMap);
    const processor = fileURLToPath(new URL('./quantize-worker-thread.js', import.meta.url));
    worker = new Worker<ProjectionJobData, ProjectionJobOutcome>(name, processor, { ...settings, useWorkerThreads: true });
  }
  const description = backend ? backend.description : 'CPU';
  let completed = 0;
  let failed = 0;
  let fatal: Error | undefined;
  worker.on('active', (job) => log(`job ${job.id}: layer ${job.data.layer} ${job.data.projection} started`));
  worker.on('completed', (job, outcome) => {
    completed++;
    log(`job ${job.id}: done in ${outcome.seconds} s${outcome.existed ? ' (its result was already there)' : ''}`);
  });
  worker.on('failed', (job, error) => {
    failed++;
    log(`job ${job?.id ?? '?'}: failed: ${error.message}`);
  });
  // BullMQ reports connection trouble as 'error' events while it reconnects; the watcher says when it gave up.
  worker.on('error', () => {});
  let stopWatching = () => {};
  const stopped = new Promise<void>((resolve) => {
    stopWatching = watchQueue(connection, (error) => {
      fatal ??= new DistributedError('VPTQ_QUEUE_UNREACHABLE', `vptq worker: lost the queue at ${location.display}: ${error.message}`, { cause: error });
      resolve();
    });
    options.signal?.addEventListener('abort', () => resolve(), { once: true });
    if (options.signal?.aborted) resolve();
  });
  const stopIgnoring = ignoreClosedConnectionRejections();
  try {
    void worker.run().catch((error: Error) => {
      fatal ??= error;
    });
    await worker.waitUntilReady();
    log(`worker ${process.pid} on ${description}: taking jobs from ${name} at ${location.display} (lock ${lockDuration} ms, stalled check every ${stalledInterval} ms)`);
    await stopped;
  } finally {
    stopWatching();
    // Without Redis, a graceful close would wait on it: drop the connections instead.
    if (fatal) await Promise.race([worker.close(true), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    else await worker.close();
    backend?.destroy();
    stopIgnoring();
  }
  if (fatal) throw fatal;
  return { completed, failed };
}

/** `cpu`, `gpu` or `gpu:N` as a device kind and an adapter index. */
export function parseWorkerDevice(text: string): { kind: 'cpu' | 'gpu'; index: number | undefined } {
  if (text === 'cpu') return { kind: 'cpu', index: undefined };
  if (text === 'gpu') return { kind: 'gpu', index: undefined };
  const match = /^gpu:(\d+)$/.exec(text);
  if (!match) throw new RangeError(`--device ${text}: expected cpu, gpu or gpu:N (N = the adapter's index, from 0)`);
  return { kind: 'gpu', index: Number(match[1]) };
}
