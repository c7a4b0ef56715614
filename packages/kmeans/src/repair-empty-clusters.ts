import type { ClusterSums } from './update-centroids';

/**
 * Gives every cluster with zero total weight a new centroid: repeatedly take the cluster with the largest
 * weighted SSE (lowest index on ties), move its farthest point (largest wᵢ‖xᵢ − c‖², lowest index on ties)
 * to the empty cluster, and update the donor's mean without that point. Stops early when no cluster has a
 * positive SSE (fewer distinct points than k); the remaining empty clusters keep their previous centroid.
 * Modifies `centroids`, `sums` and `totals` in place.
 *
 * @returns Number of clusters repaired.
 */
export function repairEmptyClusters(
  points: Float32Array,
  count: number,
  dim: number,
  weights: Float64Array,
  assignments: Uint32Array,
  centroids: Float32Array,
  { sums, totals }: ClusterSums,
  k: number,
): number {
  const empty: number[] = [];
  for (let c = 0; c < k; c++) if (!(totals[c] > 0)) empty.push(c);
  if (empty.length === 0) return 0;

  const cost = new Float64Array(count);
  const clusterCost = new Float64Array(k);
  const members = new Uint32Array(k + 1);
  for (let i = 0, offset = 0; i < count; i++, offset += dim) {
    const cluster = assignments[i];
    const base = cluster * dim;
    let distance = 0;
    for (let j = 0; j < dim; j++) {
      const d = points[offset + j] - centroids[base + j];
      distance += d * d;
    }
    cost[i] = weights[i] * distance;
    clusterCost[cluster] += cost[i];
    members[cluster + 1]++;
  }
  for (let c = 0; c < k; c++) members[c + 1] += members[c];
  const byCluster = new Uint32Array(count);
  const fill = members.slice(0, k);
  for (let i = 0; i < count; i++) byCluster[fill[assignments[i]]++] = i;
  const sortedClusters = new Uint8Array(k);
  const next = members.slice(0, k);

  const heap = new ClusterHeap(clusterCost);
  for (let c = 0; c < k; c++) if (clusterCost[c] > 0) heap.push(c);

  let repaired = 0;
  for (const target of empty) {
    const donor = heap.pop();
    if (donor < 0) break;
    if (!sortedClusters[donor]) {
      // Farthest first, lowest point index on ties: a fixed order, whatever the sort implementation.
      byCluster
        .subarray(members[donor], members[donor + 1])
        .sort((a, b) => cost[b] - cost[a] || a - b);
      sortedClusters[donor] = 1;
    }
    const point = byCluster[next[donor]++];
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
    // A donor has a positive SSE, hence at least two weighted points, so its remaining total is positive.
    for (let j = 0; j < dim; j++) centroids[base + j] = sums[base + j] / totals[donor];
    clusterCost[donor] -= cost[point];
    if (clusterCost[donor] > 0 && next[donor] < members[donor + 1] && cost[byCluster[next[donor]]] > 0) {
      heap.push(donor);
    }
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
