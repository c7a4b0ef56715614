import { type EngineCall, callEngine } from './engine-call';
import { checkClusterCosts, checkClusterMembers } from './check-engine-results';

/**
 * Gives every cluster with zero total weight a new centroid: repeatedly take the cluster with the largest
 * weighted SSE (lowest index on ties), move its farthest point (largest wᵢ‖xᵢ − c‖², lowest index on ties)
 * to the empty cluster, and update the donor's mean without that point. Stops early when no cluster has a
 * positive SSE (fewer distinct points than k); the remaining empty clusters keep their previous centroid.
 * Modifies `centroids`, `sums` and `totals` in place.
 *
 * Only the engine sees all points: it returns the per-cluster SSE against `centroids`, then the members of
 * the clusters that can donate. With E empty clusters those are the E costliest (a donor popped at the i-th
 * repair is among the i costliest: costs only decrease, and at most i − 1 clusters were popped before it), so
 * asking for their members alone gives exactly the repair of a pass over all points.
 *
 * @returns Number of clusters repaired.
 */
export function* repairEmptyClusters(
  fn: string,
  points: Float32Array,
  dim: number,
  weights: Float64Array,
  centroids: Float32Array,
  sums: Float64Array,
  totals: Float64Array,
  k: number,
): Generator<EngineCall, number, unknown> {
  const empty: number[] = [];
  for (let c = 0; c < k; c++) if (!(totals[c] > 0)) empty.push(c);
  if (empty.length === 0) return 0;

  const clusterCost = checkClusterCosts(fn, yield* callEngine((engine) => engine.clusterCosts(centroids)), k);
  const donors: number[] = [];
  for (let c = 0; c < k; c++) if (clusterCost[c] > 0) donors.push(c);
  donors.sort((a, b) => clusterCost[b] - clusterCost[a] || a - b);
  donors.length = Math.min(donors.length, empty.length);
  if (donors.length === 0) return 0;

  const requested = Uint32Array.from(donors);
  const members = checkClusterMembers(fn, yield* callEngine((engine) => engine.clusterMembers(requested, centroids)), requested);
  const { offsets, costs } = members;
  const memberOf = new Map<number, { readonly start: number; readonly end: number }>();
  donors.forEach((donor, index) => memberOf.set(donor, { start: offsets[index], end: offsets[index + 1] }));
  // Farthest first, lowest point index on ties: a fixed order, whatever the engine's order and the sort.
  const order = Uint32Array.from({ length: members.points.length }, (_, i) => i);
  for (const { start, end } of memberOf.values()) {
    order.subarray(start, end).sort((a, b) => costs[b] - costs[a] || members.points[a] - members.points[b]);
  }
  const next = new Map<number, number>();
  // Points of positive weight each donor still holds: it must keep one, or its mean would be 0 / 0.
  const weighted = new Map<number, number>();
  for (const [donor, { start, end }] of memberOf) {
    next.set(donor, start);
    let held = 0;
    for (let i = start; i < end; i++) if (weights[members.points[i]] > 0) held++;
    weighted.set(donor, held);
  }

  const heap = new ClusterHeap(clusterCost);
  for (const donor of donors) heap.push(donor);

  let repaired = 0;
  for (const target of empty) {
    const donor = heap.pop();
    if (donor < 0) break;
    const { end } = memberOf.get(donor) as { end: number };
    const position = next.get(donor) as number;
    const entry = order[position];
    next.set(donor, position + 1);
    const point = members.points[entry];
    const weight = weights[point];
    const offset = point * dim;
    const base = donor * dim;
    for (let j = 0; j < dim; j++) {
      centroids[target * dim + j] = points[offset + j];
      sums[target * dim + j] = weight * points[offset + j];
      sums[base + j] -= weight * points[offset + j];
    }
    totals[target] = weight;
    totals[donor] -= weight;
    // A donor has a positive SSE, hence at least two weighted points, and keeps one: its total stays positive.
    for (let j = 0; j < dim; j++) centroids[base + j] = sums[base + j] / totals[donor];
    clusterCost[donor] -= costs[entry];
    // The moved point had a positive cost, hence a positive weight. Costs are not recomputed against the
    // donor's new mean, so a positive remaining cost alone does not prove that a second donation would
    // leave it a weighted point (two points: after the first moves, the second still shows its old cost).
    const held = (weighted.get(donor) as number) - 1;
    weighted.set(donor, held);
    if (clusterCost[donor] > 0 && position + 1 < end && costs[order[position + 1]] > 0 && held >= 2) heap.push(donor);
    repaired++;
  }
  return repaired;
}

/** Max-heap of cluster indices by cost, lower index first on equal cost. */
class ClusterHeap {
  private readonly items: number[] = [];
  private readonly cost: Float64Array;

  constructor(cost: Float64Array) {
    this.cost = cost;
  }

  push(cluster: number): void {
    const items = this.items;
    items.push(cluster);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(items[i], items[parent])) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  /** The top cluster, or -1 when empty. */
  pop(): number {
    const items = this.items;
    if (items.length === 0) return -1;
    const top = items[0];
    const last = items.pop() as number;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let best = i;
        if (left < items.length && this.before(items[left], items[best])) best = left;
        if (right < items.length && this.before(items[right], items[best])) best = right;
        if (best === i) break;
        [items[i], items[best]] = [items[best], items[i]];
        i = best;
      }
    }
    return top;
  }

  private before(a: number, b: number): boolean {
    return this.cost[a] > this.cost[b] || (this.cost[a] === this.cost[b] && a < b);
  }
}
