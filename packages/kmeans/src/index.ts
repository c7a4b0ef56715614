export { kmeans } from './kmeans';
export { kmeansAsync } from './kmeans-async';
export type {
  AssignFunction,
  AsyncAssignFunction,
  KmeansAsyncOptions,
  KmeansInit,
  KmeansOptions,
  KmeansResult,
} from './kmeans-options';
export { assignNearest } from './assign-nearest';
export { nearestCentroid } from './nearest-centroid';
export { createNearestCentroidSearch } from './create-nearest-centroid-search';
export type { NearestCentroidSearch } from './create-nearest-centroid-search';
export type { Matrix } from './matrix';
export { createRandom } from './create-random';
export { randomPermutation } from './random-permutation';
export { firstNonFinite } from './first-non-finite';
