import { describe, expect, it } from 'vitest';

import { createTaskQueue } from './task-queue';

describe('createTaskQueue', () => {
  it('runs tasks first in, first out, never more than the concurrency at once, through failures', async () => {
    const queue = createTaskQueue(2);
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const task = (id: number, fail = false) => async () => {
      started.push(id);
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5 + (id % 3) * 3));
      running--;
      if (fail) throw new Error(`task ${id}`);
      return id;
    };
    const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((id) => queue.run(task(id, id === 3))));
    expect(started).toEqual([1, 2, 3, 4, 5, 6]);
    expect(most).toBe(2);
    expect(results.map((result) => (result.status === 'fulfilled' ? result.value : (result.reason as Error).message))).toEqual([1, 2, 'task 3', 4, 5, 6]);
  });

  it('rejects a concurrency below 1', () => {
    expect(() => createTaskQueue(0)).toThrow('createTaskQueue: concurrency must be a positive integer (got 0)');
  });
});
