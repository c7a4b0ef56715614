import { describe, expect, it } from 'vitest';

import { runAsync, runSync, settle } from './loader-steps';
import type { Steps } from './loader-steps';

/** Adds two values that may arrive later, recording whether its cleanup ran. */
function* addSteps(a: number | Promise<number>, b: number | Promise<number>, log: string[]): Steps<number> {
  try {
    const x = yield* settle(a);
    const y = yield* settle(b);
    return x + y;
  } finally {
    log.push('cleanup');
  }
}

describe('loader steps', () => {
  it('run to the same result synchronously and asynchronously', async () => {
    const log: string[] = [];
    expect(runSync('add', addSteps(1, 2, log))).toBe(3);
    expect(await runAsync(addSteps(Promise.resolve(1), 2, log))).toBe(3);
    expect(log).toEqual(['cleanup', 'cleanup']);
  });

  it('throw rejections into the steps, and refuse Promises in the synchronous driver after cleaning up', async () => {
    const log: string[] = [];
    await expect(runAsync(addSteps(1, Promise.reject(new Error('gone')), log))).rejects.toThrow('gone');
    expect(() => runSync('openModel', addSteps(1, Promise.resolve(2), log))).toThrow(/openModel: a file answered asynchronously/);
    expect(log).toEqual(['cleanup', 'cleanup']);
  });
});
