import type { AsyncKmeansEngine } from './kmeans-engine';

/**
 * One call into the engine. The algorithm is a generator that yields these and receives their results, so one
 * body serves `kmeans` (which runs them synchronously) and `kmeansAsync` (which awaits them).
 */
export type EngineCall = (engine: AsyncKmeansEngine) => unknown;

/** `yield*` this to call the engine from the algorithm and get the (awaited) result back, typed. */
export function* callEngine<T>(call: (engine: AsyncKmeansEngine) => T | Promise<T>): Generator<EngineCall, T, unknown> {
  return (yield call) as T;
}
