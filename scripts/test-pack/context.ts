// The values that README fragments marked `<!-- test:pack uses: … -->` take as given (see scripts/test-pack.mjs).
// Type-checked and run against the installed tarballs in the scratch project, like the examples. Small sizes,
// so every fragment runs in seconds on the CPU.
import { accumulateHessian, createHessianAccumulator, finalizeHessian, prepareHessian } from '@vptq/hessian';

const inFeatures = 64;
const outFeatures = 64;
const calibrationTokens = 512;
const inputs = Float32Array.from({ length: calibrationTokens * inFeatures }, (_, i) => Math.cos(i * 1.3) + Math.sin(i * 0.07));

/** A finalized Hessian E[xxᵀ] of a 64-column layer input (`finalizeHessian`). */
export const hessian = finalizeHessian(accumulateHessian(createHessianAccumulator(inFeatures), inputs, calibrationTokens));
/** `hessian` prepared with the defaults (`prepareHessian`). */
export const prepared = prepareHessian(hessian);
/** A 64 × 64 weight, `[out, in]` row-major. */
export const weight = {
  data: Float32Array.from({ length: outFeatures * inFeatures }, (_, i) => Math.sin(i * 0.37) * 0.1),
  rows: outFeatures,
  cols: inFeatures,
};
/** 2048 points of dimension 8 and their weights, for k-means. */
export const points = { data: Float32Array.from({ length: 2048 * 8 }, (_, i) => Math.sin(i * 0.61) + Math.cos(i * 0.13)), rows: 2048, cols: 8 };
export const weights = Float32Array.from({ length: 2048 }, (_, i) => 1 + (i % 7));
