import { lowBitsWgsl, packedFieldWgsl, vqBlockWgsl } from '../vq-layer/wgsl-codebook';
import { maxVqGemvProjections } from './vq-gemv.wgsl';

/**
 * The on-chip fused VQ-GEMV (issue 10) for codebooks that fit workgroup memory: `y[t, o] = Σ_p C[o, p] ·
 * xq[t, p] + β[t] + bias[o]` with xq = x read through perm and scaled by the norm (from the prepare pass, or x
 * itself when the layer has neither), for one layer or a stack of layers that share their buffers. With
 * `normalizeInput` the prepare pass also sums x² and this pass scales each sum by `1/√(mean(x²) + epsilon)`
 * (RMSNorm without gain, as the streaming kernel); SwiGLU inputs are combined by the prepare pass.
 *
 * Why this shape (H100 figures in BENCHMARKS.md): the streaming kernel gathers every entry through L1 at about
 * one random 16-byte gather per SM clock, and a workgroup-memory codebook staged per vector-row tile lost
 * because every tile reloaded it and held 48 KiB for a short life. Here a grid of a few persistent workgroups
 * per SM stages every codebook of the stack once, then its subgroups sweep work items (vector-row, column
 * split, token) until none are left: one subgroup per item, so no workgroup memory other than the tables and
 * no barrier after staging; the v sums are reduced with `subgroupAdd`. Each entry is stored `replicas` times
 * side by side and lane l reads copy `l % replicas`: with 8 copies of a 16-byte entry the 8 lanes of a
 * shared-memory wavefront always hit distinct banks (AQLM's 2×8 layout). Index words are read coalesced, a
 * word-aligned chunk of fields per lane, `unroll` chunks per iteration loaded before their lookups.
 *
 * Two table layouts (two shader texts, {@link vqGemvOnChipBlocksWgsl} and {@link vqGemvOnChipWordsWgsl}):
 * `blocks`, each entry copy in `entryBlocks` 16-byte blocks (one vector load; entries of 1–2 words padded to a
 * block), and `words`, each copy in `sharedWords` ≤ 4 words without padding (v6 f16 takes 12 bytes, so 4096
 * entries fill exactly the 48 KiB an H100 allows). Main and residual tables share one array: the residual's
 * starts at element `residualOffset`. Layer l's entry e, copy c: element ((l · K + e) · replicas + c) · size.
 *
 * 0 indices            u32 words of every layer                                  read
 * 1 centroids          vec4u codebook blocks of every layer                      read
 * 2 residualCentroids  (placeholder if none)                                     read
 * 3 x                  xq [projections, tokens, in] f32 from the prepare pass, or x [tokens, xStride]  read
 * 4 beta               [projections, tokens, 2, betaBlocks] f32 partials of the shift term, then of Σx²
 *                      (placeholder if neither)                                  read
 * 5 bias               f32 (placeholder if none)                                 read
 * 6 output             y [tokens, yStride] or partials [splits, tokens, partialStride] f32  read_write
 * 7 params             Params                                                    uniform
 */
const vqGemvOnChipCommon = /* wgsl */ `
override workgroupSize: u32 = 256;
override vectorLength: u32 = 8;
override indexBits: u32 = 8;
override residualBits: u32 = 0;
override centroidFormat: u32 = 1;
override residualFormat: u32 = 1;
// Words between entries in the codebook buffers (padded at upload).
override entryWords: u32 = 4;
override residualEntryWords: u32 = 4;
override entries: u32 = 256;
override residualEntries: u32 = 0;
override replicas: u32 = 1;
override residualReplicas: u32 = 1;
override projections: u32 = 1;
override tableSize: u32 = 1;
override residualOffset: u32 = 0;
override chunkFields: u32 = 2;
override chunkWords: u32 = 1;
override unroll: u32 = 4;
override directOutput: bool = true;
override hasNorm: bool = false;
override hasBias: bool = false;
override normalizeInput: bool = false;
override totalBits: u32 = indexBits + residualBits;
override quads: u32 = (vectorLength + 3u) / 4u;

struct Params {
  rowWords: u32,
  fieldsPerRow: u32,
  fieldsPerSplit: u32,
  splits: u32,
  tokens: u32,
  rows: u32,
  items: u32,
  xStride: u32,
  xLayerStride: u32,
  yStride: u32,
  partialStride: u32,
  betaBlocks: u32,
  inFeatures: u32,
  epsilon: f32,
  // Per layer two vec4u: (first vector-row, index word, centroid word, residual word),
  // (first output, outputs, bias offset, 0).
  table: array<vec4u, ${2 * maxVqGemvProjections}>,
}

@group(0) @binding(0) var<storage, read> indices: array<u32>;
@group(0) @binding(1) var<storage, read> centroids: array<vec4u>;
@group(0) @binding(2) var<storage, read> residualCentroids: array<vec4u>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read_write> output: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

var<private> sum0: vec4f;
var<private> sum1: vec4f;
var<private> sum2: vec4f;
var<private> sum3: vec4f;

// Word k of an entry at word w of a codebook buffer.
fn bufferWord(residual: bool, w: u32) -> u32 {
  if (residual) {
    return residualCentroids[w >> 2u][w & 3u];
  }
  return centroids[w >> 2u][w & 3u];
}

struct Entry {
  q0: vec4f,
  q1: vec4f,
  q2: vec4f,
  q3: vec4f,
}

// The quads of the entry copy at 'slot', each 16-byte block read once (quads past v stay 0): f32 entries take a
// block per quad, f16/bf16 entries two quads per block.
fn entryAt(residual: bool, slot: u32) -> Entry {
  let format = select(centroidFormat, residualFormat, residual);
  var entry = Entry(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  if (format == 0u) {
    entry.q0 = bitcast<vec4f>(tableBlock(residual, slot, 0u));
    if (quads > 1u) {
      entry.q1 = bitcast<vec4f>(tableBlock(residual, slot, 1u));
    }
    if (quads > 2u) {
      entry.q2 = bitcast<vec4f>(tableBlock(residual, slot, 2u));
    }
    if (quads > 3u) {
      entry.q3 = bitcast<vec4f>(tableBlock(residual, slot, 3u));
    }
    return entry;
  }
  let low = tableBlock(residual, slot, 0u);
  entry.q0 = quadOf(low, false, format);
  if (quads > 1u) {
    entry.q1 = quadOf(low, true, format);
  }
  if (quads > 2u) {
    let high = tableBlock(residual, slot, 1u);
    entry.q2 = quadOf(high, false, format);
    if (quads > 3u) {
      entry.q3 = quadOf(high, true, format);
    }
  }
  return entry;
}

fn accumulate(field: u32, xv: f32, layer: u32, copy: u32, residualCopy: u32) {
  var entry = entryAt(false, entrySlot(false, layer * entries + (field & lowBits(indexBits)), copy));
  if (residualBits > 0u) {
    let residual = entryAt(true, entrySlot(true, layer * residualEntries + ((field >> min(indexBits, 31u)) & lowBits(residualBits)), residualCopy));
    entry.q0 += residual.q0;
    entry.q1 += residual.q1;
    entry.q2 += residual.q2;
    entry.q3 += residual.q3;
  }
  sum0 += entry.q0 * xv;
  if (quads > 1u) {
    sum1 += entry.q1 * xv;
  }
  if (quads > 2u) {
    sum2 += entry.q2 * xv;
  }
  if (quads > 3u) {
    sum3 += entry.q3 * xv;
  }
}

// The layer of the stack whose vector-rows include 'row'.
fn layerOfRow(row: u32) -> u32 {
  var layer = 0u;
  for (var i = 1u; i < projections; i++) {
    if (row >= params.table[2u * i].x) {
      layer = i;
    }
  }
  return layer;
}

fn reducedElement(total0: vec4f, total1: vec4f, total2: vec4f, total3: vec4f, j: u32) -> f32 {
  let quad = j / 4u;
  var value = total0;
  if (quad == 1u) {
    value = total1;
  } else if (quad == 2u) {
    value = total2;
  } else if (quad == 3u) {
    value = total3;
  }
  return value[j % 4u];
}

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) laneCount: u32,
) {
  stageTables(local);
  workgroupBarrier();
  let subgroupsPerWorkgroup = max(workgroupSize / laneCount, 1u);
  let subgroup = local / laneCount;
  let copy = lane % replicas;
  let residualCopy = lane % residualReplicas;
  let rowItems = params.rows * params.splits;
  // The loop runs the same trip count on every lane of a subgroup: subgroupAdd below sees whole subgroups.
  for (var item = workgroup.x * subgroupsPerWorkgroup + subgroup; item < params.items; item += grid.x * subgroupsPerWorkgroup) {
    let token = item / rowItems;
    let row = (item % rowItems) / params.splits;
    let split = item % params.splits;
    let layer = layerOfRow(row);
    let where0 = params.table[2u * layer];
    let where1 = params.table[2u * layer + 1u];
    let localRow = row - where0.x;
    let rowWord = where0.y + localRow * params.rowWords;
    let xBase = layer * params.xLayerStride + token * params.xStride;
    let first = split * params.fieldsPerSplit;
    let end = min(first + params.fieldsPerSplit, params.fieldsPerRow);
    sum0 = vec4f(0.0);
    sum1 = vec4f(0.0);
    sum2 = vec4f(0.0);
    sum3 = vec4f(0.0);
    // Lane i of n takes chunks i, i + n, …, 'unroll' per iteration, all index words loaded before any lookup.
    for (var chunk = first / chunkFields + lane; chunk * chunkFields < end; chunk += laneCount * unroll) {
      var words: array<u32, 9>;
      for (var u = 0u; u < unroll; u++) {
        let c = chunk + u * laneCount;
        if (c * chunkFields < end) {
          for (var l = 0u; l < chunkWords; l++) {
            words[u * chunkWords + l] = indices[rowWord + c * chunkWords + l];
          }
        }
      }
      for (var u = 0u; u < unroll; u++) {
        let s0 = (chunk + u * laneCount) * chunkFields;
        for (var f = 0u; f < chunkFields; f++) {
          let s = s0 + f;
          if (s < end) {
            let bit = f * totalBits;
            let w = u * chunkWords + (bit >> 5u);
            accumulate(fieldFrom(words[w], words[min(w + 1u, 8u)], bit & 31u), x[xBase + s], layer, copy, residualCopy);
          }
        }
      }
    }
    let total0 = subgroupAdd(sum0);
    var total1 = vec4f(0.0);
    var total2 = vec4f(0.0);
    var total3 = vec4f(0.0);
    if (quads > 1u) {
      total1 = subgroupAdd(sum1);
    }
    if (quads > 2u) {
      total2 = subgroupAdd(sum2);
    }
    if (quads > 3u) {
      total3 = subgroupAdd(sum3);
    }
    // The norm's shift term β (the same for every output of the layer) and the bias go into split 0 only.
    let betaBase = (layer * params.tokens + token) * 2u * params.betaBlocks;
    var shift = 0.0;
    if (hasNorm && split == 0u) {
      var partial = 0.0;
      for (var b = lane; b < params.betaBlocks; b += laneCount) {
        partial += beta[betaBase + b];
      }
      shift = subgroupAdd(partial);
    }
    // RMSNorm of x without its gain: the sums (β included) are linear in x, so every split scales its own part.
    var scale = 1.0;
    if (normalizeInput) {
      var partial = 0.0;
      for (var b = lane; b < params.betaBlocks; b += laneCount) {
        partial += beta[betaBase + params.betaBlocks + b];
      }
      scale = inverseSqrt(subgroupAdd(partial) / f32(params.inFeatures) + params.epsilon);
    }
    for (var j = lane; j < vectorLength; j += laneCount) {
      let o = localRow * vectorLength + j;
      if (o < where1.y) {
        var value = (reducedElement(total0, total1, total2, total3, j) + shift) * scale;
        if (split == 0u) {
          if (hasBias) {
            value += bias[where1.z + o];
          }
        }
        if (directOutput) {
          output[token * params.yStride + where1.x + o] = value;
        } else {
          output[(split * params.tokens + token) * params.partialStride + where1.x + o] = value;
        }
      }
    }
  }
}
` + lowBitsWgsl + vqBlockWgsl + packedFieldWgsl;

/** Table of 16-byte blocks: one vector load per block of an entry copy (entries of 1–2 words padded). */
const blocksTableWgsl = /* wgsl */ `
override entryBlocks: u32 = 1;
override residualEntryBlocks: u32 = 1;

var<workgroup> table: array<vec4u, tableSize>;

fn stageTables(local: u32) {
  for (var i = local; i < projections * entries * entryBlocks; i += workgroupSize) {
    let entry = i / entryBlocks;
    let b = i % entryBlocks;
    let layer = entry / entries;
    let w = params.table[2u * layer].z + (entry % entries) * entryWords;
    let block = firstBlock(centroids[(w >> 2u) + b], w, entryWords);
    for (var c = 0u; c < replicas; c++) {
      table[(entry * replicas + c) * entryBlocks + b] = block;
    }
  }
  if (residualBits > 0u) {
    for (var i = local; i < projections * residualEntries * residualEntryBlocks; i += workgroupSize) {
      let entry = i / residualEntryBlocks;
      let b = i % residualEntryBlocks;
      let layer = entry / max(residualEntries, 1u);
      let w = params.table[2u * layer].w + (entry % max(residualEntries, 1u)) * residualEntryWords;
      let block = firstBlock(residualCentroids[(w >> 2u) + b], w, residualEntryWords);
      for (var c = 0u; c < residualReplicas; c++) {
        table[residualOffset + (entry * residualReplicas + c) * residualEntryBlocks + b] = block;
      }
    }
  }
}

// The table element of copy 'copy' of an entry (layer · K + e).
fn entrySlot(residual: bool, entry: u32, copy: u32) -> u32 {
  if (residual) {
    return residualOffset + (entry * residualReplicas + copy) * residualEntryBlocks;
  }
  return (entry * replicas + copy) * entryBlocks;
}

fn tableBlock(residual: bool, slot: u32, b: u32) -> vec4u {
  return table[slot + b];
}
`;

/** Table of unpadded words (entries of ≤ 4 words): v6 f16 in 12 bytes. */
const wordsTableWgsl = /* wgsl */ `
override sharedWords: u32 = 3;
override residualSharedWords: u32 = 3;

var<workgroup> table: array<u32, tableSize>;

fn stageTables(local: u32) {
  for (var i = local; i < projections * entries * sharedWords; i += workgroupSize) {
    let entry = i / sharedWords;
    let k = i % sharedWords;
    let layer = entry / entries;
    let word = bufferWord(false, params.table[2u * layer].z + (entry % entries) * entryWords + k);
    for (var c = 0u; c < replicas; c++) {
      table[(entry * replicas + c) * sharedWords + k] = word;
    }
  }
  if (residualBits > 0u) {
    for (var i = local; i < projections * residualEntries * residualSharedWords; i += workgroupSize) {
      let entry = i / residualSharedWords;
      let k = i % residualSharedWords;
      let layer = entry / max(residualEntries, 1u);
      let word = bufferWord(true, params.table[2u * layer].w + (entry % max(residualEntries, 1u)) * residualEntryWords + k);
      for (var c = 0u; c < residualReplicas; c++) {
        table[residualOffset + (entry * residualReplicas + c) * residualSharedWords + k] = word;
      }
    }
  }
}

fn entrySlot(residual: bool, entry: u32, copy: u32) -> u32 {
  if (residual) {
    return residualOffset + (entry * residualReplicas + copy) * residualSharedWords;
  }
  return (entry * replicas + copy) * sharedWords;
}

// Block 0 of an entry (the only one: ≤ 4 words), words past its size 0.
fn tableBlock(residual: bool, slot: u32, b: u32) -> vec4u {
  let size = select(sharedWords, residualSharedWords, residual);
  var block = vec4u(table[slot], 0u, 0u, 0u);
  if (size > 1u) {
    block.y = table[slot + 1u];
  }
  if (size > 2u) {
    block.z = table[slot + 2u];
  }
  if (size > 3u) {
    block.w = table[slot + 3u];
  }
  return block;
}
`;

const header = 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);\n';

/** The on-chip VQ-GEMV with its tables as 16-byte blocks (needs the `subgroups` feature). */
export const vqGemvOnChipBlocksWgsl = header + vqGemvOnChipCommon + blocksTableWgsl;

/** The on-chip VQ-GEMV with its tables as unpadded words (needs the `subgroups` feature). */
export const vqGemvOnChipWordsWgsl = header + vqGemvOnChipCommon + wordsTableWgsl;

/**
 * The prepare pass of the on-chip VQ-GEMV, for layers with perm or norm or inputs to combine: `xq[l, t, p] =
 * u(t, perm_l[p]) · scale_l[p]` in quantized position order (so that the main pass reads x coalesced instead of
 * gathering it through perm on every row), with u = x, or `silu(gate) · up` from `[gate | up]` (`swigluInput`);
 * and per workgroup the partials of the norm's shift term `Σ_p shift_l[p] · u(t, perm_l[p])` and, with
 * `normalizeInput`, of `Σ x²`, each summed by a fixed tree (deterministic). Grid: (⌈in / workgroupSize⌉, tokens,
 * projections).
 *
 * 0 x      [tokens, xStride] f32 (or [gate | up])                           read
 * 1 perm   u32 (placeholder if none)                                        read
 * 2 norm   [2, in] f32 scale, shift per layer (placeholder if none)         read
 * 3 xq     [projections, tokens, in] f32                                    read_write
 * 4 beta   [projections, tokens, 2, blocks] f32: shift partials, Σx² partials  read_write
 * 5 params Params                                                           uniform
 */
export const vqGemvPrepareXWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;
override hasPerm: bool = false;
override hasNorm: bool = false;
override swigluInput: bool = false;
override normalizeInput: bool = false;

struct Params {
  inFeatures: u32,
  tokens: u32,
  xStride: u32,
  blocks: u32,
  upOffset: u32,
  // Per layer: (perm offset, norm offset, 0, 0).
  table: array<vec4u, ${maxVqGemvProjections}>,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> perm: array<u32>;
@group(0) @binding(2) var<storage, read> norm: array<f32>;
@group(0) @binding(3) var<storage, read_write> xq: array<f32>;
@group(0) @binding(4) var<storage, read_write> beta: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

var<workgroup> scratch: array<f32, workgroupSize>;

// The sum of every invocation's 'value', by a fixed tree (the same on every run).
fn workgroupSum(local: u32, value: f32) -> f32 {
  workgroupBarrier();
  scratch[local] = value;
  workgroupBarrier();
  for (var stride = workgroupSize / 2u; stride > 0u; stride >>= 1u) {
    if (local < stride) {
      scratch[local] += scratch[local + stride];
    }
    workgroupBarrier();
  }
  return scratch[0];
}

@compute @workgroup_size(workgroupSize)
fn main(@builtin(workgroup_id) workgroup: vec3u, @builtin(local_invocation_index) local: u32) {
  let p = workgroup.x * workgroupSize + local;
  let token = workgroup.y;
  let layer = workgroup.z;
  let offsets = params.table[layer];
  var shift = 0.0;
  var square = 0.0;
  if (p < params.inFeatures) {
    var column = p;
    if (hasPerm) {
      column = perm[offsets.x + p];
    }
    var value = x[token * params.xStride + column];
    square = value * value;
    if (swigluInput) {
      // silu(gate) · up, as the SwiGLU kernel computes it (exp(-g) = inf for g < -88 gives the limit -0).
      value = value / (1.0 + exp(-value)) * x[token * params.xStride + params.upOffset + column];
    }
    if (hasNorm) {
      shift = value * norm[offsets.y + params.inFeatures + p];
      value *= norm[offsets.y + p];
    }
    xq[(layer * params.tokens + token) * params.inFeatures + p] = value;
  }
  let betaBase = (layer * params.tokens + token) * 2u * params.blocks;
  if (hasNorm) {
    let total = workgroupSum(local, shift);
    if (local == 0u) {
      beta[betaBase + workgroup.x] = total;
    }
  }
  if (normalizeInput) {
    let total = workgroupSum(local, square);
    if (local == 0u) {
      beta[betaBase + params.blocks + workgroup.x] = total;
    }
  }
}
`;
