/** The codebook shape of a bench setting. */
export interface VptqSpec {
  readonly vectorLength: number;
  readonly numCentroids: number;
  readonly numResidualCentroids: number;
  readonly groupNum: number;
}

/**
 * A VPTQ setting written as `v4-k256`, `v4-k256-r16` or `v4-k256-g2` (vector length, centroids, residual
 * centroids, groups), as the bench commands take it.
 *
 * @throws {Error} naming `flag` and the entry when it is not of that form.
 */
export function parseVptqSpec(flag: string, spec: string): VptqSpec {
  const match = /^v(\d+)-k(\d+)(?:-r(\d+))?(?:-g(\d+))?$/.exec(spec);
  if (!match) throw new Error(`${flag} entries look like v4-k256, v4-k256-r16 or v4-k256-g2 (got ${spec})`);
  return {
    vectorLength: Number(match[1]),
    numCentroids: Number(match[2]),
    numResidualCentroids: match[3] ? Number(match[3]) : 0,
    groupNum: match[4] ? Number(match[4]) : 1,
  };
}
