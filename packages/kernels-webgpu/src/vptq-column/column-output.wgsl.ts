/**
 * What both column kernels (`vptqColumnWgsl`'s `finalize`, `vptqSweepWgsl`) do once a column's entries are chosen,
 * as one text so that their arithmetic is the same by construction: each row's quantized value, outputs, scaled
 * error and non-finite check, the tile's non-finite flag, and the error's update of the block's later columns.
 * The including shader declares `codebooks`, `factors`, `working`, `outputs`, `blockErrors`, `indices` and a
 * `params` with `rows`, `cols`, `blockStart`, `blockEnd`, `codebookOffset`, `residualCodebookOffset`,
 * `residualOutputOffset` and `flagOffset`; the workgroup's `chosen`, `chosenResidual`, `errors` and `sawNonFinite`;
 * and the overrides `vectorLength`, `vectorWords`, `workgroupSize` and `keepResidual`.
 */
export const columnOutputWgsl = /* wgsl */ `
// NaN and ±infinity have all exponent bits set; read the bits, since a compiler may assume floats are finite.
fn isNonFinite(value: f32) -> bool {
  return (bitcast<u32>(value) & 0x7f800000u) == 0x7f800000u;
}

// Row \`row\` of column \`column\` in row slot e (point e / v, its element e % v), whose working value is w: q = the
// chosen main entry's element plus (f32 addition) the residual entry's, written to the outputs (and w − q to the
// residual when kept); the scaled error (w − q)·errorScale goes to errors[e] and the block errors.
fn finishRow(column: u32, row: u32, e: u32, w: f32, errorScale: f32, withResidual: bool) {
  let s = e / vectorLength;
  let t = e % vectorLength;
  var q = codebooks[params.codebookOffset + chosen[s] * vectorWords + t / 4u][t % 4u];
  if (withResidual) {
    q += codebooks[params.residualCodebookOffset + chosenResidual[s] * vectorWords + t / 4u][t % 4u];
  }
  let columnBase = column * params.rows;
  let difference = w - q;
  outputs[columnBase + row] = q;
  if (keepResidual) {
    outputs[params.residualOutputOffset + columnBase + row] = difference;
  }
  let error = difference * errorScale;
  errors[e] = error;
  blockErrors[(column - params.blockStart) * params.rows + row] = error;
  if (isNonFinite(w)) {
    atomicOr(&sawNonFinite, 1u);
  }
}

// One flag per point tile: the first column that went non-finite there (+1). Only the tile's own workgroup writes
// it, so no two invocations race.
fn flagNonFinite(tile: u32, column: u32, local: u32) {
  if (local == 0u && atomicLoad(&sawNonFinite) != 0u && indices[params.flagOffset + tile] == 0u) {
    indices[params.flagOffset + tile] = column + 1u;
  }
}

// Error feedback into the block's later columns, for the rows firstRow + e of the workgroup's slots only (rows
// are independent): W[later, row] −= errors[e]·U'[column, later].
fn feedBack(column: u32, firstRow: u32, slots: u32, local: u32) {
  let laterCount = params.blockEnd - column - 1u;
  for (var i = local; i < slots * laterCount; i += workgroupSize) {
    let e = i % slots;
    let row = firstRow + e;
    if (row < params.rows) {
      let later = column + 1u + i / slots;
      let index = later * params.rows + row;
      working[index] = fma(-errors[e], factors[column * params.cols + later], working[index]);
    }
  }
}
`;
