import { UnrecoverableError } from 'bullmq';

import { DistributedError } from './distributed-error';

/**
 * What a job processor throws for `error`: a permanent {@link DistributedError} (another model, a bad payload) as
 * BullMQ's UnrecoverableError, so the job fails at once instead of after its attempts; anything else as it is.
 */
export function asJobError(error: unknown): Error {
  if (error instanceof DistributedError && error.permanent) return new UnrecoverableError(`${error.message} [${error.code}]`);
  return error as Error;
}
