import type { Matrix } from './matrix';

/** The validated point set of one k-means run, handed to a {@link KmeansEngineFactory} once per run. */
export interface KmeansEngineInput {
  /** `[count, dim]` f32 points, finite: the caller's matrix, not a copy (an engine must not modify it). */
  readonly points: Matrix;
  /** `[count]` f64 weights, finite and ≥ 0 with a positive sum (all ones when the caller gave none). */
  readonly weights: Float64Array;
  /** Number of centroids, 1 ≤ k ≤ count. */
  readonly k: number;
}

/**
 * What one assignment step returns: O(k·dim) numbers, all the algorithm needs from the points per iteration.
 * The algorithm may modify the arrays.
 */
export interface KmeansEngineStep {
  /** `[k, dim]` f64 Σ wᵢxᵢ over the points now assigned to each centroid. */
  readonly sums: Float64Array;
  /** `[k]` f64 Σ wᵢ over the points now assigned to each centroid (0 for an empty cluster). */
  readonly totals: Float64Array;
  /** Σ wᵢ‖xᵢ − c(xᵢ)‖² of the new assignment against the step's centroids. */
  readonly objective: number;
  /** Number of points whose centroid differs from the previous step's; every point at the first step. */
  readonly changed: number;
}

/** Members of some clusters and their costs, for empty-cluster repair. */
export interface KmeansClusterMembers {
  /** `[clusters.length + 1]` u32: the members of `clusters[i]` are entries `offsets[i] … offsets[i + 1] − 1`. */
  readonly offsets: Uint32Array;
  /** Point indices (u32), grouped by requested cluster, in any order within a group (the algorithm sorts). */
  readonly points: Uint32Array;
  /** f64 wᵢ‖xᵢ − c‖² of each entry of `points` against its cluster's row of the given centroids. */
  readonly costs: Float64Array;
}

/**
 * The data-parallel half of weighted Lloyd iterations over one point set: everything whose cost grows with
 * the number of points. `kmeans` keeps the algorithm (initialization, centroid update, empty-cluster repair,
 * the convergence test) and calls the engine for the rest, so a GPU engine keeps the points and assignments on
 * the device and transfers O(k·dim) per iteration. The CPU engine (`createCpuKmeansEngine`) is the reference.
 *
 * Centroids are always `[k, dim]` f32 row-major, and "the assignment" is the one made by the last `step`.
 */
export interface KmeansEngine {
  /**
   * Assigns every point to its nearest centroid (squared Euclidean distance, ties to the lower index) and
   * returns the per-centroid sums, the objective and the number of changed assignments.
   */
  step(centroids: Float32Array): KmeansEngineStep;
  /**
   * `[k]` f64 Σ wᵢ‖xᵢ − c‖² per cluster of the current assignment against `centroids` (not necessarily the
   * step's). Called only when a cluster is empty.
   */
  clusterCosts(centroids: Float32Array): Float64Array;
  /**
   * The members of `clusters` (distinct indices below k) in the current assignment, with their costs against
   * `centroids`. Called only when a cluster is empty, for the few clusters that can donate a point.
   */
  clusterMembers(clusters: Uint32Array, centroids: Float32Array): KmeansClusterMembers;
  /** `[count]` u32 current assignment; called once, at the end. */
  assignments(): Uint32Array;
  /** Frees what the engine holds (GPU buffers); called once when the run ends, also after an error. */
  destroy?(): void;
}

/** What {@link AsyncKmeansEngine.iterate} did: per iteration, in order. */
export interface KmeansIterations {
  /** Σ wᵢ‖xᵢ − c(xᵢ)‖² of each iteration's assignment against its centroids. */
  readonly objectives: Float64Array;
  /** Points whose centroid changed in each iteration. */
  readonly changed: Uint32Array;
  /**
   * Clusters that each iteration's update found empty (zero total weight in the assignment before it). The host
   * would have repaired them before that update, so an iteration with a non-zero count, and every later one, is
   * discarded by the algorithm.
   */
  readonly empty: Uint32Array;
}

/** A {@link KmeansEngine} whose operations may return promises (a GPU engine with readbacks), for `kmeansAsync`. */
export interface AsyncKmeansEngine {
  step(centroids: Float32Array): KmeansEngineStep | Promise<KmeansEngineStep>;
  /**
   * Optional: `count` further Lloyd iterations on the engine's side with no round trip between them, continuing
   * from the current assignment: each one moves every non-empty cluster to its weighted mean (the engine's
   * arithmetic: within a few f32 roundings of the algorithm's `updateCentroids`; empty clusters keep their
   * centroid and are counted) and then assigns and reduces as {@link step}. The algorithm replays the
   * convergence test over the returned statistics and, where it stops inside the batch or meets an empty cluster,
   * returns to that iteration with {@link iteratedCentroids} and a `step`.
   */
  iterate?(count: number): Promise<KmeansIterations>;
  /** The `[k, dim]` f32 centroids of iteration `index` of the last {@link iterate} call (−1: those it started from). */
  iteratedCentroids?(index: number): Promise<Float32Array>;
  clusterCosts(centroids: Float32Array): Float64Array | Promise<Float64Array>;
  clusterMembers(clusters: Uint32Array, centroids: Float32Array): KmeansClusterMembers | Promise<KmeansClusterMembers>;
  assignments(): Uint32Array | Promise<Uint32Array>;
  destroy?(): void | Promise<void>;
}

/** Creates the engine of one run of `kmeans` (called once per run, after the arguments were validated). */
export type KmeansEngineFactory = (input: KmeansEngineInput) => KmeansEngine;

/** Creates the engine of one run of `kmeansAsync`; may be asynchronous (uploads). */
export type AsyncKmeansEngineFactory = (input: KmeansEngineInput) => AsyncKmeansEngine | Promise<AsyncKmeansEngine>;
