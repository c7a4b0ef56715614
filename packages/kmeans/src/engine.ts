// `@vptq/kmeans/engine`: for implementing where k-means runs. The algorithm (initialization, centroid update,
// empty-cluster repair, convergence) stays in `kmeans`; an engine does the work that grows with the points.
export { createCpuKmeansEngine } from './create-cpu-kmeans-engine';
export type {
  AsyncKmeansEngine,
  AsyncKmeansEngineFactory,
  KmeansClusterMembers,
  KmeansEngine,
  KmeansEngineFactory,
  KmeansEngineInput,
  KmeansEngineStep,
  KmeansIterations,
} from './kmeans-engine';
