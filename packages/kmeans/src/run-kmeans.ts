import { checkStep } from './check-engine-results';
import { createRandom } from './create-random';
import { type EngineCall, callEngine } from './engine-call';
import { initCentroids } from './init-centroids';
import type { KmeansAsyncOptions, KmeansResult } from './kmeans-options';
import type { Matrix } from './matrix';
import { describe } from './matrix';
import { repairEmptyClusters } from './repair-empty-clusters';
import { updateCentroids } from './update-centroids';
import type { Validated } from './validate-kmeans';

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

  const first = centroids;
  let step = checkStep(fn, yield* callEngine((engine) => engine.step(first)), count, k, dim);
  let objective = step.objective;
  let iterations = 0;
  let converged = false;

  while (iterations < maxIterations) {
    const { sums, totals } = step;
    const updated = updateCentroids(sums, totals, centroids, k, dim);
    const repaired = yield* repairEmptyClusters(fn, data, dim, weights, updated, sums, totals, k);
    iterations++;
    step = checkStep(fn, yield* callEngine((engine) => engine.step(updated)), count, k, dim);
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
