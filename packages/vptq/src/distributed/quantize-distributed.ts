import { runQuantizeJob } from '../quantize/quantize-model';
import type { QuantizeResult } from '../quantize/quantize-model';
import type { QuantizeOptions } from '../quantize/quantize-options';
import { parseQueueUrl } from './parse-queue-url';

/** {@link quantizeDistributed}'s options: those of `quantize`, and the queue. */
export interface QuantizeDistributedOptions extends QuantizeOptions {
  /** The work queue: `redis://HOST:PORT` (or `rediss://`, with `user:password@` and `/DB`). */
  readonly queue: string;
  /**
   * Layers whose projections may be queued at once while the next layers are calibrated (activations advancing
   * through the original layers; with `'quantized'` it is always 1). Bounds the Hessians kept in the job
   * directory. Default 4.
   */
  readonly layersInFlight?: number;
  /** Attempts per projection job before the run fails. Default 3. */
  readonly attempts?: number;
  /** Milliseconds to reach Redis at start. Default 5000. */
  readonly connectTimeoutMs?: number;
  /** Milliseconds of reconnect attempts after losing Redis before the run fails. Default 60 000. */
  readonly reconnectTimeoutMs?: number;
  /** Milliseconds between the status lines logged while waiting for workers. Default 30 000. */
  readonly statusIntervalMs?: number;
}

/**
 * {@link quantize} with each layer's projections quantized by workers (`runQuantizeWorker`, `vptq worker`) that
 * take jobs from a BullMQ queue on Redis, on this or other machines that see the same job directory
 * (`<out>.partial`, a shared directory) and model. This process collects the Hessians layer by layer as
 * `quantize` does, writes them into the job directory, queues one job per projection and assembles the output
 * from the workers' results; the output is byte-identical to `quantize` on the same kind of device (every
 * projection is quantized from the same Hessian bytes with the same seed). Killed and started again with the same
 * arguments, it continues from the finished layers and the jobs already queued or done.
 *
 * @example
 * ```ts
 * import { quantizeDistributed } from 'vptq/node';
 * await quantizeDistributed({ model: 'stories260K.bin', calibration: 'calib.txt', out: '/shared/out', device: 'cpu', queue: 'redis://10.0.0.5:6379' });
 * ```
 * @throws {DistributedError} `VPTQ_QUEUE_URL` for a bad URL, `VPTQ_QUEUE_UNREACHABLE` when Redis does not answer
 *   (at start, or for `reconnectTimeoutMs` during the run), `VPTQ_QUEUE_JOB_FAILED` when a projection failed on
 *   every attempt (a worker seeing another model, for one).
 * @throws what `quantize` throws for bad inputs and settings.
 */
export async function quantizeDistributed(options: QuantizeDistributedOptions): Promise<QuantizeResult> {
  const location = parseQueueUrl(options.queue);
  if (options.layersInFlight !== undefined && !(Number.isSafeInteger(options.layersInFlight) && options.layersInFlight >= 1)) {
    throw new RangeError(`quantizeDistributed: layersInFlight must be a positive integer (got ${options.layersInFlight})`);
  }
  if (options.attempts !== undefined && !(Number.isSafeInteger(options.attempts) && options.attempts >= 1)) {
    throw new RangeError(`quantizeDistributed: attempts must be a positive integer (got ${options.attempts})`);
  }
  // BullMQ and ioredis load only for a distributed run (a fifth of a second that `vptq/node` users need not pay).
  const [{ connectQueue }, { openQueueProjectionRunner }] = await Promise.all([import('./connect-queue'), import('./queue-projection-runner')]);
  const connection = await connectQueue(location, 'vptq quantize', { connectMs: options.connectTimeoutMs, reconnectMs: options.reconnectTimeoutMs });
  return runQuantizeJob(options, (job) =>
    openQueueProjectionRunner(job, {
      connection,
      display: location.display,
      layersInFlight: options.layersInFlight,
      attempts: options.attempts,
      statusIntervalMs: options.statusIntervalMs,
    }),
  );
}
