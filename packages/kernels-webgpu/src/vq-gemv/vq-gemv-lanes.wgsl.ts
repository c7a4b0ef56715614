import { lowBitsWgsl, packedFieldWgsl, vqBlockWgsl } from '../vq-layer/wgsl-codebook';
import { vqLaneTileRows } from '../vq-layer/lane-index-layout';
import { maxVqGemvProjections, vqAccumulateWgsl } from './vq-gemv.wgsl';

/**
 * The lanes VQ-GEMV (issue 10): `y[t, o] = Σ_p C[o, p] · scale[p] · x[t, perm[p]] + Σ_p shift[p] · x[t, perm[p]]
 * + bias[o]` over the main groups of one packed layer, or of a stack of layers that share their buffers (q/k/v,
 * gate/up: outputs side by side), whose indices were uploaded in the `lanes` layout
 * (`uploadVqLayers(…, { indexLayout: 'lanes' })`). As the streaming kernel it can read `silu(gate) · up` from
 * `[gate | up]` (`swigluInput`) or RMS-normalize x itself (`normalizeInput`: every workgroup sums x² over the
 * whole row, which the L2 serves; the sums are linear in x, so each partial is scaled before the reduction).
 *
 * Why this shape: the streaming kernel spreads one vector-row over a workgroup, so every field costs, besides
 * its one or two codebook lookups, a perm load, the dependent load of x, two norm loads and a share of a
 * workgroup reduction of v sums; the lookup probe (BENCHMARKS.md) runs 3–4× faster than that kernel's lookups.
 * Here each lane owns a vector-row and keeps its v sums in registers, and the lanes of a subgroup walk the same
 * columns: x is read through perm, scaled by the norm and staged in workgroup memory once per workgroup (one
 * column per invocation), every lane then reads it as a broadcast vec4 for four fields, and an index word
 * load is one coalesced line for 32 rows. What remains per field is its lookups.
 *
 * A workgroup takes a tile of 32 vector-rows × `slices · fieldsPerLane` columns of one group and token:
 * invocation i is lane `i mod 32` (the row) of slice `i / 32`, which takes the slice's `fieldsPerLane` columns
 * in steps of 8 fields (`totalBits / 4` words when totalBits is a multiple of 4; otherwise one field at a time
 * from two words). The slices' sums are added in workgroup memory in a fixed order, the shift term β of the
 * tile's columns is added by a tree, and the tile writes either y (one column tile, one group) or a partial
 * `[slot, token, o]` that `vqGemvReduceWgsl` sums in slot order: deterministic, no float atomics.
 *
 * Grid: (Σ row tiles of the stack's layers, G · column tiles, tokens); tiles do not straddle layers.
 *
 * 0 indices            u32 words, lanes layout: word w of row r of group g at ((g · tiles + r / 32) · rowWords + w) · 32 + r mod 32
 * 1 centroids          vec4u codebook blocks (padded entries, as the streaming kernel)   read
 * 2 residualCentroids  (placeholder if none)                                               read
 * 3 x                  [tokens, xStride] f32, original column order                      read
 * 4 perm               u32 positions → columns (placeholder if none)                     read
 * 5 norm               [2, in] f32 scale, shift by position (placeholder if none)        read
 * 6 bias               f32 (placeholder if none)                                          read
 * 7 output             y [tokens, yStride] or partials [slots, tokens, Σ outputs] f32    read_write
 * 8 params             Params                                                             uniform
 */
export const vqGemvLanesWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;
override fieldsPerLane: u32 = 32;
override vectorLength: u32 = 8;
override indexBits: u32 = 16;
override residualBits: u32 = 0;
override centroidFormat: u32 = 1;
override residualFormat: u32 = 1;
override entryWords: u32 = 4;
override residualEntryWords: u32 = 4;
override directOutput: bool = false;
override hasPerm: bool = false;
override hasNorm: bool = false;
override hasBias: bool = false;
override swigluInput: bool = false;
override normalizeInput: bool = false;
override totalBits: u32 = indexBits + residualBits;
override quads: u32 = (vectorLength + 3u) / 4u;
override alignedSteps: bool = totalBits % 4u == 0u;
override stepWords: u32 = totalBits / 4u;
const tileRows = ${vqLaneTileRows}u;
override slices: u32 = workgroupSize / tileRows;
override columns: u32 = slices * fieldsPerLane;
override columnQuads: u32 = columns / 4u;
override outputsPerTile: u32 = tileRows * vectorLength;
override treeSlots: u32 = select(1u, workgroupSize, hasNorm || normalizeInput);

struct Params {
  rowWords: u32,
  fieldsPerRow: u32,
  columnOffset: u32,
  columnTiles: u32,
  xStride: u32,
  yStride: u32,
  tokens: u32,
  partialStride: u32,
  inFeatures: u32,
  groupCentroidWords: u32,
  groupResidualWords: u32,
  projections: u32,
  upOffset: u32,
  epsilon: f32,
  // Per layer three vec4u: (first row tile, index word, centroid word, residual word),
  // (perm word, norm word, first output, outputs), (bias word, vector-rows, row tiles, 0).
  table: array<vec4u, ${3 * maxVqGemvProjections}>,
}

@group(0) @binding(0) var<storage, read> indices: array<u32>;
@group(0) @binding(1) var<storage, read> centroids: array<vec4u>;
@group(0) @binding(2) var<storage, read> residualCentroids: array<vec4u>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> perm: array<u32>;
@group(0) @binding(5) var<storage, read> norm: array<f32>;
@group(0) @binding(6) var<storage, read> bias: array<f32>;
@group(0) @binding(7) var<storage, read_write> output: array<f32>;
@group(0) @binding(8) var<uniform> params: Params;

// x of the tile's columns, through perm and scaled by the norm (0 past the group's last column).
var<workgroup> xs: array<vec4f, columnQuads>;
// The sums of every (slice, lane), quad by quad.
var<workgroup> scratch: array<vec4f, workgroupSize * quads>;
// The tree of the shift term β (x) and of Σ x² over the whole row (y, with normalizeInput).
var<workgroup> tree: array<vec2f, treeSlots>;

` + vqAccumulateWgsl + /* wgsl */ `

fn indexWord(base: u32, w: u32) -> u32 {
  // Steps past the end of a row read its last word again: their fields are never used.
  return indices[base + min(w, params.rowWords - 1u) * tileRows];
}

// The layer (entry of the table) whose row tiles include 'tile'.
fn layerOfTile(tile: u32) -> u32 {
  var layer = 0u;
  for (var i = 1u; i < params.projections; i++) {
    if (tile >= params.table[3u * i].x) {
      layer = i;
    }
  }
  return layer;
}

// The kernel's input at column c of x: x itself, or silu(gate) · up of a [gate | up] input.
fn inputAt(xBase: u32, column: u32) -> f32 {
  let value = x[xBase + column];
  if (swigluInput) {
    // silu(gate) · up, as the SwiGLU kernel computes it (exp(-g) = inf for g < -88 gives the limit -0).
    return value / (1.0 + exp(-value)) * x[xBase + params.upOffset + column];
  }
  return value;
}

@compute @workgroup_size(workgroupSize)
fn main(@builtin(workgroup_id) workgroup: vec3u, @builtin(local_invocation_index) local: u32) {
  let layer = layerOfTile(workgroup.x);
  let where0 = params.table[3u * layer];
  let where1 = params.table[3u * layer + 1u];
  let where2 = params.table[3u * layer + 2u];
  let rowTile = workgroup.x - where0.x;
  let rows = where2.y;
  let group = workgroup.y / params.columnTiles;
  let columnTile = workgroup.y % params.columnTiles;
  let token = workgroup.z;
  // Fields (columns of the group) first..end belong to this tile.
  let first = columnTile * columns;
  let end = min(first + columns, params.fieldsPerRow);
  let positionBase = params.columnOffset + group * params.fieldsPerRow;
  let xBase = token * params.xStride;

  // Stage x' = scale · x[perm] of the tile's columns; sum this invocation's share of β = Σ shift · x[perm].
  var part = vec2f(0.0);
  for (var c = local; c < columns; c += workgroupSize) {
    var value = 0.0;
    if (first + c < end) {
      let position = positionBase + first + c;
      var column = position;
      if (hasPerm) {
        column = perm[where1.x + position];
      }
      value = inputAt(xBase, column);
      if (hasNorm) {
        part.x += value * norm[where1.y + params.inFeatures + position];
        value *= norm[where1.y + position];
      }
    }
    xs[c / 4u][c % 4u] = value;
  }
  if (normalizeInput) {
    // RMSNorm needs the whole row, whatever columns this workgroup takes.
    for (var c = local; c < params.inFeatures; c += workgroupSize) {
      let value = x[xBase + c];
      part.y += value * value;
    }
  }
  if (hasNorm || normalizeInput) {
    tree[local] = part;
  }
  workgroupBarrier();

  let lane = local % tileRows;
  let slice = local / tileRows;
  let row = rowTile * tileRows + lane;
  if (row < rows) {
    let mainBase = where0.z + group * params.groupCentroidWords;
    let residualBase = where0.w + group * params.groupResidualWords;
    let wordBase = where0.y + (group * where2.z + rowTile) * params.rowWords * tileRows + lane;
    let sliceFirst = first + slice * fieldsPerLane;
    let sliceEnd = min(sliceFirst + fieldsPerLane, end);
    if (alignedSteps) {
      // 8 fields per step in totalBits / 4 words: all words loaded before any lookup; the fields' bit offsets
      // are constants once the loops are unrolled.
      for (var s0 = sliceFirst; s0 < sliceEnd; s0 += 8u) {
        var words: array<u32, 9>;
        let w0 = (s0 / 8u) * stepWords;
        for (var l = 0u; l < stepWords; l++) {
          words[l] = indexWord(wordBase, w0 + l);
        }
        let xq = (s0 - first) / 4u;
        let low = xs[xq];
        let high = xs[xq + 1u];
        for (var f = 0u; f < 8u; f++) {
          if (s0 + f < sliceEnd) {
            let bit = f * totalBits;
            let w = bit >> 5u;
            let xv = select(low, high, f >= 4u)[f & 3u];
            accumulate(fieldFrom(words[w], words[min(w + 1u, 8u)], bit & 31u), xv, mainBase, residualBase);
          }
        }
      }
    } else {
      for (var s = sliceFirst; s < sliceEnd; s++) {
        let bit = s * totalBits;
        let w = bit >> 5u;
        let c = s - first;
        accumulate(fieldFrom(indexWord(wordBase, w), indexWord(wordBase, w + 1u), bit & 31u), xs[c / 4u][c % 4u], mainBase, residualBase);
      }
    }
  }

  scratch[local * quads] = sum0;
  if (quads > 1u) {
    scratch[local * quads + 1u] = sum1;
  }
  if (quads > 2u) {
    scratch[local * quads + 2u] = sum2;
  }
  if (quads > 3u) {
    scratch[local * quads + 3u] = sum3;
  }
  workgroupBarrier();
  if (hasNorm || normalizeInput) {
    for (var stride = workgroupSize / 2u; stride > 0u; stride >>= 1u) {
      if (local < stride) {
        tree[local] += tree[local + stride];
      }
      workgroupBarrier();
    }
  }

  // Output j of the tile: element e of its vector-row r, summed over the slices in order.
  for (var j = local; j < outputsPerTile; j += workgroupSize) {
    let r = j / vectorLength;
    let e = j % vectorLength;
    let o = (rowTile * tileRows + r) * vectorLength + e;
    if (rowTile * tileRows + r < rows && o < where1.w) {
      var total = 0.0;
      for (var s = 0u; s < slices; s++) {
        total += scratch[(s * tileRows + r) * quads + e / 4u][e % 4u];
      }
      if (hasNorm) {
        total += tree[0].x;
      }
      if (normalizeInput) {
        // RMSNorm of x without its gain (folded into the layer's norm): the sums are linear in x.
        total *= inverseSqrt(tree[0].y / f32(params.inFeatures) + params.epsilon);
      }
      if (hasBias && workgroup.y == 0u) {
        total += bias[where2.x + o];
      }
      let outIndex = where1.z + o;
      if (directOutput) {
        output[token * params.yStride + outIndex] = total;
      } else {
        output[(workgroup.y * params.tokens + token) * params.partialStride + outIndex] = total;
      }
    }
  }
}
` + lowBitsWgsl + vqBlockWgsl + packedFieldWgsl;
