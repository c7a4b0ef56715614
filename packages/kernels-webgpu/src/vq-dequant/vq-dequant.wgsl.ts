import { vqLaneTileRows } from '../vq-layer/lane-index-layout';
import { codebookReaderWgsl, lowBitsWgsl } from '../vq-layer/wgsl-codebook';

/**
 * Dequantizes a packed VPTQ layer to a dense `[outFeatures, rowStride]` matrix (the prefill path: the
 * result feeds GEMM), following the reference `dequant` (format spec §5.4): for original column c the
 * quantized position is p = inversePerm[c]; outlier positions p < O read field p of repacked outlier row
 * o / vo; the others read field (p − O) mod S of packed row (g, o / v), add the main and residual
 * centroids, then apply `w · scale[p] + bias[p]` (norm is stored in position order). Codebook entries are
 * `centroidStride` / `outlierStride` elements apart (padded, see `uploadVqLayer`). Each invocation writes two adjacent elements of one row,
 * as one u32 of two f16 (`f16Output`) or two f32 words; columns c ≥ inFeatures are written as 0 so the
 * padded rows can be read as 16-byte vectors. Workgroups flattened as `id.x + id.y·nx`.
 *
 * 0 indices            [G, R, P] u32, or the lanes layout (`laneLayout`, see `toLaneIndexLayout`)  read
 * 1 centroids          [G, K, stride] f32 / f16 / bf16 words  read
 * 2 residualCentroids  [G, Kr, stride] (placeholder if none)  read
 * 3 outlierIndices     [Ro, Po] u32 repacked (or placeholder) read
 * 4 outlierCentroids   [Ko, stride] (or placeholder)      read
 * 5 inversePerm        [in] u32 (or placeholder)          read
 * 6 norm               [2, in] f32 scale, bias by position (or placeholder) read
 * 7 output             [outFeatures, rowStride] f32 or f16 pairs as u32  read_write
 * 8 params             Params                             uniform
 */
export const vqDequantWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;
override vectorLength: u32 = 8;
override indexBits: u32 = 16;
override residualBits: u32 = 0;
override centroidFormat: u32 = 1;
override residualFormat: u32 = 1;
override outlierVectorLength: u32 = 4;
override outlierBits: u32 = 8;
override outlierFormat: u32 = 1;
override centroidStride: u32 = 8;
override residualStride: u32 = 8;
override outlierStride: u32 = 4;
override hasOutliers: bool = false;
override hasPerm: bool = false;
override hasNorm: bool = false;
override f16Output: bool = false;
// Index words in the lanes layout: word w of row r of group g at ((g · tiles + r / 32) · rowWords + w) · 32 + r mod 32.
override laneLayout: bool = false;
const laneTileRows = ${vqLaneTileRows}u;

struct Params {
  outFeatures: u32,
  inFeatures: u32,
  rowStride: u32,
  vectorRows: u32,
  rowWords: u32,
  groupSize: u32,
  outlierSize: u32,
  outlierRowWords: u32,
  centroidsPerGroup: u32,
  residualPerGroup: u32,
}

@group(0) @binding(0) var<storage, read> indices: array<u32>;
@group(0) @binding(1) var<storage, read> centroids: array<vec4u>;
@group(0) @binding(2) var<storage, read> residualCentroids: array<vec4u>;
@group(0) @binding(3) var<storage, read> outlierIndices: array<u32>;
@group(0) @binding(4) var<storage, read> outlierCentroids: array<vec4u>;
@group(0) @binding(5) var<storage, read> inversePerm: array<u32>;
@group(0) @binding(6) var<storage, read> norm: array<f32>;
@group(0) @binding(7) var<storage, read_write> output: array<u32>;
@group(0) @binding(8) var<uniform> params: Params;

// Field 'field' of vector-row 'row' of group 'group' of the packed indices, in either layout.
fn mainField(group: u32, row: u32, field: u32) -> u32 {
  let bits = indexBits + residualBits;
  let bit = field * bits;
  var word = (group * params.vectorRows + row) * params.rowWords + (bit >> 5u);
  var next = 1u;
  if (laneLayout) {
    let tiles = (params.vectorRows + laneTileRows - 1u) / laneTileRows;
    word = ((group * tiles + row / laneTileRows) * params.rowWords + (bit >> 5u)) * laneTileRows + row % laneTileRows;
    next = laneTileRows;
  }
  let offset = bit & 31u;
  var value = indices[word] >> offset;
  if (offset + bits > 32u) {
    value |= indices[word + next] << (32u - offset);
  }
  return value & lowBits(bits);
}

fn outlierField(rowWord: u32, field: u32) -> u32 {
  let bit = field * outlierBits;
  let word = rowWord + (bit >> 5u);
  let offset = bit & 31u;
  var value = outlierIndices[word] >> offset;
  if (offset + outlierBits > 32u) {
    value |= outlierIndices[word + 1u] << (32u - offset);
  }
  return value & lowBits(outlierBits);
}

fn weightAt(row: u32, column: u32) -> f32 {
  if (column >= params.inFeatures) {
    return 0.0;
  }
  var position = column;
  if (hasPerm) {
    position = inversePerm[column];
  }
  var value: f32;
  if (hasOutliers && position < params.outlierSize) {
    let entry = outlierField((row / outlierVectorLength) * params.outlierRowWords, position);
    value = elementOutlier(entry * outlierStride + row % outlierVectorLength);
  } else {
    let local = position - params.outlierSize;
    let group = local / params.groupSize;
    let field = mainField(group, row / vectorLength, local % params.groupSize);
    let within = row % vectorLength;
    value = elementMain(group * params.centroidsPerGroup + (field & lowBits(indexBits)) * centroidStride + within);
    if (residualBits > 0u) {
      let residual = (field >> min(indexBits, 31u)) & lowBits(residualBits);
      value += elementResidual(group * params.residualPerGroup + residual * residualStride + within);
    }
  }
  if (hasNorm) {
    value = value * norm[position] + norm[params.inFeatures + position];
  }
  return value;
}

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let pairIndex = (workgroup.x + workgroup.y * grid.x) * workgroupSize + local;
  let pairsPerRow = params.rowStride / 2u;
  if (pairIndex >= params.outFeatures * pairsPerRow) {
    return;
  }
  let row = pairIndex / pairsPerRow;
  let column = (pairIndex % pairsPerRow) * 2u;
  let pair = vec2f(weightAt(row, column), weightAt(row, column + 1u));
  if (f16Output) {
    output[pairIndex] = pack2x16float(pair);
  } else {
    output[2u * pairIndex] = bitcast<u32>(pair.x);
    output[2u * pairIndex + 1u] = bitcast<u32>(pair.y);
  }
}
` +
  codebookReaderWgsl('centroids', 'centroidFormat', 'Main') +
  codebookReaderWgsl('residualCentroids', 'residualFormat', 'Residual') +
  codebookReaderWgsl('outlierCentroids', 'outlierFormat', 'Outlier') +
  lowBitsWgsl;
