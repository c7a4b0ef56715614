/** What went wrong in a distributed run, as `DistributedError.code`. */
export type DistributedErrorCode =
  /** `--queue` is not a `redis://HOST:PORT` URL. */
  | 'VPTQ_QUEUE_URL'
  /** Redis does not answer at the URL (down, wrong port, not Redis, too old). */
  | 'VPTQ_QUEUE_UNREACHABLE'
  /** A job's payload is not one this version writes. */
  | 'VPTQ_QUEUE_PAYLOAD'
  /** The worker does not see the job's directory, or it belongs to another job. */
  | 'VPTQ_QUEUE_STORAGE'
  /** The worker sees model bytes other than the coordinator's. */
  | 'VPTQ_QUEUE_MODEL_MISMATCH'
  /** The job is for another kind of device than the worker's. */
  | 'VPTQ_QUEUE_DEVICE'
  /** A projection job failed on a worker. */
  | 'VPTQ_QUEUE_JOB_FAILED';

/**
 * An error of `quantizeDistributed` or `runQuantizeWorker` with a stable `code`. Errors a retry cannot cure
 * (`permanent`) fail the job at once instead of after its attempts.
 */
export class DistributedError extends Error {
  override readonly name = 'DistributedError';
  readonly code: DistributedErrorCode;
  /** Whether retrying the same job elsewhere cannot help (a bad payload, another model, another device kind). */
  readonly permanent: boolean;

  constructor(code: DistributedErrorCode, message: string, options?: { cause?: unknown; permanent?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.permanent = options?.permanent ?? false;
  }
}
