export { fixturePath, sharedDir } from './fixtures';
export { createTestRng, randomMatrix, randomFloats } from './random';
export type { Matrix } from './random';
export { countDifferences, maxAbsDifference, maxRelativeDifference } from './compare';
export { requestTestDevice, releaseTestDevice } from './gpu';
export { makeTempDir } from './temp';
export { getTestGpu } from './test-gpu';
export { publishedConfigs, shrinkPublishedConfig } from './published-configs';
export type { PublishedModel, TestModelSizes } from './published-configs';
