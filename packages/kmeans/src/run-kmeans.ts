import { checkCentroids, checkIterations, checkStep } from './check-engine-results';
import { createRandom } from './create-random';
import { type EngineCall, callEngine } from './engine-call';
import { initCentroids } from './init-centroids';
import type { KmeansEngineStep, KmeansIterations } from './kmeans-engine';
import type { KmeansAsyncOptions, KmeansResult } from './kmeans-options';
import type { Matrix } from './matrix';
import { describe } from './matrix';
import { repairEmptyClusters } from './repair-empty-clusters';
import { updateCentroids } from './update-centroids';
import type { Validated } from './validate-kmeans';

/** Iterations an engine with `iterate` runs per round trip: fewer round trips, at most this many discarded. */
const iterationBatch = 8;

/**
 * Weighted Lloyd iterations as a generator over engine calls (see {@link EngineCall}): initialization, the
 * centroid update, empty-cluster repair and the convergence test run here; the engine assigns the points and
 * returns per-cluster sums, the objective and the number of changed assignments.
 */
export function* runKmeans(
  fn: string,
  points: Matrix,
  k: number,
  options: KmeansAsyncOptions,
  { count, dim, weights, init, seed, maxIterations, tolerance }: Validated,
): Generator<EngineCall, KmeansResult, unknown> {
  const data = points.data;
  let centroids =
    options.initialCentroids !== undefined
      ? options.initialCentroids.data.slice()
      : initCentroids(data, count, dim, weights, k, init, createRandom(seed));

  const stepAt = (values: Float32Array) => callEngine((engine) => engine.step(values));
  let step: KmeansEngineStep | undefined = checkStep(fn, yield* stepAt(centroids), count, k, dim);
  let objective = step.objective;
  let iterations = 0;
  let converged = false;
  // An engine that iterates on its side (a GPU) runs batches of iterations with no round trip while no cluster is
  // empty; the host replays the convergence test over them and takes over where a repair is due.
  const batched = yield* callEngine((engine) => typeof engine.iterate === 'function' && typeof engine.iteratedCentroids === 'function');
  const readCentroids = function* (index: number) {
    const values = yield* callEngine((engine) => (engine.iteratedCentroids as (index: number) => Promise<Float32Array>)(index));
    return checkCentroids(fn, values, k, dim);
  };
  // Whether the engine holds newer centroids than `centroids`: those of iteration `lastInBatch` of its last batch.
  let stale = false;
  let lastInBatch = -1;

  while (iterations < maxIterations) {
    if (batched && (step === undefined || !hasEmpty(step.totals))) {
      const size = Math.min(iterationBatch, maxIterations - iterations);
      const run = checkIterations(fn, yield* callEngine((engine) => (engine.iterate as (count: number) => Promise<KmeansIterations>)(size)), size, count);
      let last = -1;
      let stopped = false;
      for (let j = 0; j < size; j++) {
        // The host would have repaired before this update: this iteration and the later ones do not count.
        if (run.empty[j] > 0) {
          stopped = true;
          break;
        }
        last = j;
        iterations++;
        const nextObjective = run.objectives[j];
        options.onIteration?.(iterations, nextObjective);
        const change = Math.abs(objective - nextObjective);
        const previous = objective;
        objective = nextObjective;
        if (run.changed[j] === 0 || objective === 0 || change <= tolerance * previous) {
          converged = true;
          stopped = true;
          break;
        }
      }
      lastInBatch = last;
      if (!stopped) {
        stale = true;
        step = undefined;
        continue;
      }
      // Iteration `last` (−1: the centroids the batch started from, which the host lacks only when stale).
      if (last >= 0 || stale) centroids = yield* readCentroids(last);
      stale = false;
      // Back to that iteration's assignment, and its sums for the repair; a convergence at the batch's end leaves
      // the engine there already.
      if (!converged || last < size - 1) step = checkStep(fn, yield* stepAt(centroids), count, k, dim);
      if (converged) break;
    }
    step ??= checkStep(fn, yield* stepAt(centroids), count, k, dim);
    const { sums, totals } = step;
    const updated = updateCentroids(sums, totals, centroids, k, dim);
    const repaired = yield* repairEmptyClusters(fn, data, dim, weights, updated, sums, totals, k);
    iterations++;
    step = checkStep(fn, yield* stepAt(updated), count, k, dim);
    const nextObjective = step.objective;
    options.onIteration?.(iterations, nextObjective);

    // Unchanged assignments without a repair mean the next update reproduces these centroids: a fixed point.
    const stable = repaired === 0 && step.changed === 0;
    const change = Math.abs(objective - nextObjective);
    centroids = updated;
    const previous = objective;
    objective = nextObjective;
    if (stable || objective === 0 || change <= tolerance * previous) {
      converged = true;
      break;
    }
  }
  if (stale) centroids = yield* readCentroids(lastInBatch);
  const assignments = checkAssignments(fn, yield* callEngine((engine) => engine.assignments()), count, k);
  return { centroids, assignments, iterations, objective, converged };
}

function checkAssignments(fn: string, assignments: Uint32Array, count: number, k: number): Uint32Array {
  if (!(assignments instanceof Uint32Array) || assignments.length !== count) {
    throw new TypeError(`${fn}: engine.assignments() must return a Uint32Array of ${count} entries (got ${describe(assignments)})`);
  }
  for (let i = 0; i < count; i++) {
    if (assignments[i] >= k) {
      throw new RangeError(`${fn}: engine.assignments() must return indices below k (got ${assignments[i]} at point ${i}, k = ${k})`);
    }
  }
  return assignments;
}

function hasEmpty(totals: Float64Array): boolean {
  for (let c = 0; c < totals.length; c++) if (!(totals[c] > 0)) return true;
  return false;
}
