import type { AsyncKmeansEngineFactory, KmeansEngineFactory } from './kmeans-engine';
import type { Matrix } from './matrix';

/** Centroid initialization: random observations (as the VPTQ reference with cuML) or weighted k-means++. */
export type KmeansInit = 'random' | 'kmeans++';

/**
 * The assignment step: `[count]` u32 nearest-centroid indices of `points` (`[count, dim]` f32) against
 * `centroids` (`[k, dim]` f32). Every index must be below k.
 */
export type AssignFunction = (points: Matrix, centroids: Matrix) => Uint32Array;

/** An assignment step that may run asynchronously (a GPU kernel with a readback). */
export type AsyncAssignFunction = (points: Matrix, centroids: Matrix) => Uint32Array | Promise<Uint32Array>;

/** Options of {@link kmeans}; every field is optional. */
export interface KmeansOptions {
  /**
   * `[count]` non-negative finite per-point weights (f32 or f64), not all zero. The objective is
   * Σ wᵢ‖xᵢ − c(xᵢ)‖² and centroids are weighted means. Default: all ones.
   */
  readonly weights?: Float32Array | Float64Array;
  /** Initialization. Default `'random'`, the reference's choice (cuML `init='random'`). */
  readonly init?: KmeansInit;
  /** Seed of every random choice (initialization only). Non-negative safe integer. Default 0. */
  readonly seed?: number;
  /** Maximum number of Lloyd iterations (centroid updates), ≥ 0. Default 100, as the reference `kiter`. */
  readonly maxIterations?: number;
  /**
   * Stop once the weighted objective changes by at most `tolerance` times its previous value between two
   * iterations (a relative change of the objective, not a centroid shift). Runs also stop when no
   * assignment changes. ≥ 0; 0 runs until assignments are stable. Default 1e-5, as the reference `ktol`.
   */
  readonly tolerance?: number;
  /** Starting centroids `[k, dim]` f32 instead of `init`; copied, never modified. */
  readonly initialCentroids?: Matrix;
  /**
   * Replaces the assignment step, e.g. with a GPU kernel. Default: an exact bounded search (Yinyang-style
   * bounds kept across iterations) that returns exactly what {@link assignNearest} returns, only faster.
   */
  readonly assign?: AssignFunction;
  /**
   * Runs the data-parallel work of each iteration (assignment, per-cluster sums, objective, changed count)
   * on another engine, e.g. a GPU one (`@vptq/kernels-webgpu/quantize`); the algorithm stays here. Called
   * once per run with the validated points and weights; exclusive with `assign`. Default: the CPU engine
   * (`createCpuKmeansEngine` of `@vptq/kmeans/engine`), with which results are bit-reproducible.
   */
  readonly engine?: KmeansEngineFactory;
  /** Called after every iteration with its 1-based number and the weighted objective after it. */
  readonly onIteration?: (iteration: number, objective: number) => void;
}

/** Options of {@link kmeansAsync}: those of {@link kmeans}, with an assignment step or engine that may be async. */
export interface KmeansAsyncOptions extends Omit<KmeansOptions, 'assign' | 'engine'> {
  /** Replaces the assignment step (default as in {@link KmeansOptions.assign}); may return a promise. */
  readonly assign?: AsyncAssignFunction;
  /** As {@link KmeansOptions.engine}; the factory and the engine's operations may return promises. */
  readonly engine?: AsyncKmeansEngineFactory;
}

/** Result of {@link kmeans}. */
export interface KmeansResult {
  /** `[k, dim]` f32 centroids. */
  readonly centroids: Float32Array;
  /** `[count]` u32 index of each point's centroid, computed against the returned `centroids`. */
  readonly assignments: Uint32Array;
  /** Number of Lloyd iterations (centroid updates) run, ≤ `maxIterations`. */
  readonly iterations: number;
  /** Weighted sum of squared distances Σ wᵢ‖xᵢ − c(xᵢ)‖² of the returned centroids and assignments (f64). */
  readonly objective: number;
  /** Whether the tolerance or stable assignments stopped the run before `maxIterations`. */
  readonly converged: boolean;
}
