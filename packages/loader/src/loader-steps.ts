/**
 * A loader operation written once for a synchronous and an asynchronous driver (as `prepareHessianSteps` in
 * `@vptq/hessian` is): it yields each value that may be a Promise (a file opened or read through `fetch` or a
 * `Blob`) and receives it settled, through `yield* settle(value)`. {@link runSync} drives it over local files and
 * bytes in memory, {@link runAsync} over any source.
 */
export type Steps<T> = Generator<unknown, T, unknown>;

/** Yields `value` to the driver and returns it settled: the value itself, or what its Promise resolved to. */
export function* settle<T>(value: T | PromiseLike<T>): Generator<unknown, T, unknown> {
  return (yield value) as T;
}

/** Whether `value` is a Promise or another thenable. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * Runs `steps` to completion synchronously. A yielded Promise is an error thrown into the steps (so their
 * cleanup runs): such a source must be opened with an asynchronous opener.
 */
export function runSync<T>(fn: string, steps: Steps<T>): T {
  let step = steps.next();
  while (!step.done) {
    const value = step.value;
    if (isThenable(value)) {
      value.then(undefined, () => undefined);
      step = steps.throw(new TypeError(`${fn}: a file answered asynchronously (a URL or Blob); open it with openModelFiles or loadTokenizerFiles`));
      continue;
    }
    step = steps.next(value);
  }
  return step.value;
}

/** Runs `steps` to completion, awaiting each yielded value; a rejection is thrown into the steps where it happened. */
export async function runAsync<T>(steps: Steps<T>): Promise<T> {
  let step = steps.next();
  while (!step.done) {
    let settled: unknown;
    try {
      settled = await step.value;
    } catch (error) {
      step = steps.throw(error);
      continue;
    }
    step = steps.next(settled);
  }
  return step.value;
}
