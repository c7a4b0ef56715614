import { DistributedError } from './distributed-error';

/**
 * What a job processor throws for `error`: a permanent {@link DistributedError} (another model, a bad payload) as an
 * error named `UnrecoverableError`, which BullMQ fails at once instead of after its attempts (it checks the name, so
 * the error also survives the trip out of a sandboxed processor's thread); anything else as it is.
 */
export function asJobError(error: unknown): Error {
  if (!(error instanceof DistributedError && error.permanent)) return error as Error;
  const unrecoverable = new Error(`${error.message} [${error.code}]`, { cause: error });
  unrecoverable.name = 'UnrecoverableError';
  return unrecoverable;
}
