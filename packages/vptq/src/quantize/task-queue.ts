/** Runs async tasks in the order they are added, at most `concurrency` at once. */
export interface TaskQueue {
  /** Queues `task`; settles as it does, once it has run. */
  run<T>(task: () => Promise<T>): Promise<T>;
}

/**
 * A first-in, first-out queue of async tasks with at most `concurrency` running: the local projection runner shares
 * one across layers, so that a layer's projections start after the earlier layer's, never more at once.
 */
export function createTaskQueue(concurrency: number): TaskQueue {
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new RangeError(`createTaskQueue: concurrency must be a positive integer (got ${concurrency})`);
  const waiting: (() => void)[] = [];
  let running = 0;
  const release = () => {
    running--;
    const next = waiting.shift();
    if (next) {
      running++;
      next();
    }
  };
  return {
    async run(task) {
      if (running < concurrency && waiting.length === 0) running++;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}
