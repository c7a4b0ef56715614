import { getVptqLayerLayout } from './get-vptq-layer-layout';
import type { VptqLayerConfig } from './vptq-layer-config';

/**
 * A way the reference implementation (`microsoft/VPTQ`) decodes a valid layer wrongly, although the format
 * defines it and this library reads it right (spec §5.3).
 */
export interface ReferenceMisread {
  /**
   * - `'residual-wider-than-main'`: Kr > K; the reference's torch fallback masks the residual index with the
   *   main index width (`(1 << ib) − 1`) instead of `rb` bits.
   * - `'short-packed-rows'`: a packed row of S·tb ≤ 16 bits; the reference's unpacker strips the wrong number of
   *   padding bits.
   * - `'grouped-residual-offset'`: G > 1 with Kr ≠ K; the reference's CUDA kernels offset group g's residual
   *   codebook by g·K·v instead of g·Kr·v.
   */
  readonly code: 'residual-wider-than-main' | 'short-packed-rows' | 'grouped-residual-offset';
  /** What goes wrong and where, in one sentence. */
  readonly message: string;
}

/**
 * The ways the reference implementation would misread a layer stored with `config` (none for the layouts the
 * reference itself writes in practice: K ≥ Kr, one group or Kr = K, long rows).
 *
 * @throws {RangeError} if the config is invalid.
 */
export function findReferenceMisreads(config: VptqLayerConfig): ReferenceMisread[] {
  const layout = getVptqLayerLayout(config);
  const misreads: ReferenceMisread[] = [];
  if (layout.numResidualCentroids > layout.numCentroids) {
    misreads.push({
      code: 'residual-wider-than-main',
      message: `the residual codebook (Kr = ${layout.numResidualCentroids}) is larger than the main one (K = ${layout.numCentroids}): the reference's torch fallback masks residual indices to ${layout.indexBits} bits`,
    });
  }
  if (layout.groupSize * layout.totalBits <= 16) {
    misreads.push({
      code: 'short-packed-rows',
      message: `a packed row holds only ${layout.groupSize * layout.totalBits} bits (S = ${layout.groupSize} fields of ${layout.totalBits} bits): the reference's unpacker strips the wrong padding from rows of 16 bits or fewer`,
    });
  }
  if (layout.groupNum > 1 && layout.hasResidual && layout.numResidualCentroids !== layout.numCentroids) {
    misreads.push({
      code: 'grouped-residual-offset',
      message: `${layout.groupNum} groups with Kr = ${layout.numResidualCentroids} ≠ K = ${layout.numCentroids}: the reference's CUDA kernels read group g's residual codebook at g·K·v instead of g·Kr·v`,
    });
  }
  return misreads;
}
