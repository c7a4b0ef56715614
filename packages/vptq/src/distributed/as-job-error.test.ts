import { describe, expect, it } from 'vitest';

import { asJobError } from './as-job-error';
import { DistributedError } from './distributed-error';

describe('asJobError', () => {
  it('turns a permanent error into one BullMQ fails at once (by name), keeping message and code', () => {
    const cause = new DistributedError('VPTQ_QUEUE_MODEL_MISMATCH', 'the model at /m has fingerprint a…, the coordinator’s has b…', { permanent: true });
    const error = asJobError(cause);
    expect(error.name).toBe('UnrecoverableError');
    expect(error.message).toBe('the model at /m has fingerprint a…, the coordinator’s has b… [VPTQ_QUEUE_MODEL_MISMATCH]');
    expect(error.cause).toBe(cause);
  });

  it('leaves other errors to BullMQ’s attempts', () => {
    const transient = new DistributedError('VPTQ_QUEUE_UNREACHABLE', 'lost the queue');
    const plain = new RangeError('out of memory');
    expect(asJobError(transient)).toBe(transient);
    expect(asJobError(plain)).toBe(plain);
  });
});
