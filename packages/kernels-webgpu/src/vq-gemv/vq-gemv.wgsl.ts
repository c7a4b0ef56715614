import { lowBitsWgsl, packedFieldWgsl, vqBlockWgsl } from '../vq-layer/wgsl-codebook';

/** The most layers one fused VQ-GEMV dispatch serves (q/k/v is 3; gate/up is 2). */
export const maxVqGemvProjections = 4;

/**
 * Gathering one field's codebook entry (main + residual) as four vec4f quads and adding it, times x, to the
 * vector-row's sums `sum0`…`sum3` (`accumulate`), shared by the VQ-GEMV kernels that read codebooks through the
 * caches. Needs the bindings `centroids` and `residualCentroids` (`array<vec4u>`),
 * the overrides vectorLength, indexBits, residualBits, centroidFormat, residualFormat, entryWords,
 * residualEntryWords and quads, and {@link vqBlockWgsl} and {@link lowBitsWgsl}.
 */
export const vqAccumulateWgsl = /* wgsl */ `
fn mainBlock(w: u32, b: u32) -> vec4u {
  return firstBlock(centroids[(w >> 2u) + b], w, entryWords);
}

fn residualBlock(w: u32, b: u32) -> vec4u {
  return firstBlock(residualCentroids[(w >> 2u) + b], w, residualEntryWords);
}

// Quad q (0..3) of the entry at word w: f32 entries take a 16-byte block per quad, f16/bf16 entries two
// quads per block. q is a constant where it is called, so each branch folds away.
fn mainQuad(w: u32, q: u32) -> vec4f {
  if (centroidFormat == 0u) {
    return quadOf(mainBlock(w, q), false, 0u);
  }
  return quadOf(mainBlock(w, q / 2u), (q & 1u) == 1u, centroidFormat);
}

fn residualQuad(w: u32, q: u32) -> vec4f {
  if (residualFormat == 0u) {
    return quadOf(residualBlock(w, q), false, 0u);
  }
  return quadOf(residualBlock(w, q / 2u), (q & 1u) == 1u, residualFormat);
}

struct Entry {
  q0: vec4f,
  q1: vec4f,
  q2: vec4f,
  q3: vec4f,
}

// The main (+ residual) codebook entry of a field, four elements a quad (quads past v stay 0).
fn gather(field: u32, mainBase: u32, residualBase: u32) -> Entry {
  let main = mainBase + (field & lowBits(indexBits)) * entryWords;
  let residual = residualBase + ((field >> min(indexBits, 31u)) & lowBits(residualBits)) * residualEntryWords;
  var entry = Entry(mainQuad(main, 0u), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  if (residualBits > 0u) {
    entry.q0 += residualQuad(residual, 0u);
  }
  if (quads > 1u) {
    entry.q1 = mainQuad(main, 1u);
    if (residualBits > 0u) {
      entry.q1 += residualQuad(residual, 1u);
    }
  }
  if (quads > 2u) {
    entry.q2 = mainQuad(main, 2u);
    if (residualBits > 0u) {
      entry.q2 += residualQuad(residual, 2u);
    }
  }
  if (quads > 3u) {
    entry.q3 = mainQuad(main, 3u);
    if (residualBits > 0u) {
      entry.q3 += residualQuad(residual, 3u);
    }
  }
  return entry;
}

// The v ≤ 16 sums of a vector-row, four vec4 registers (no arrays: nothing spills).
var<private> sum0: vec4f;
var<private> sum1: vec4f;
var<private> sum2: vec4f;
var<private> sum3: vec4f;

// Adds a field's entry times xv to the sums.
fn accumulate(field: u32, xv: f32, mainBase: u32, residualBase: u32) {
  let entry = gather(field, mainBase, residualBase);
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
`;

/**
 * The fused VQ-GEMV, the hot loop of decode: `y[t, o] = Σ_p C[o, p] · scale[p] · x[t, perm[p]] + Σ_p
 * shift[p] · x[t, perm[p]] + bias[o]` over one part of one or more packed layers (the main groups, or the
 * repacked outliers) without materializing W, in one dispatch: perm and norm are applied while reading x
 * (no gather pass), and the norm's shift term `β = Σ_p shift[p] · x[perm[p]]`, the same for every output,
 * is summed in the same loop and added to every output of the workgroup.
 *
 * A workgroup takes one (tile of rowsPerWorkgroup = 1 or 2 vector-rows, column split, group, token). Its invocations take consecutive chunks
 * of `chunkFields` fields that start on a 32-bit word (`chunkWords` words: 2 fields of 16 bits, 8 of 12
 * bits, …), `unroll` chunks at a time, so that one iteration keeps about 8 codebook gathers in flight and
 * reads its index words once; fields whose chunks would not be word-aligned in ≤ 8 words are read one at a
 * time from two words. A codebook entry is padded to `entryWords` words (see `uploadVqLayer`), so the
 * gather of 8 f16 (or 6 f16) is one 16-byte load. The v ≤ 16 sums of the vector-row live in four vec4
 * registers (no arrays: nothing spills), are reduced over the workgroup (subgroups or workgroup memory) and
 * written either as the final y (one split, one part) or as a partial `[slot, token, o]` that the reduce
 * pass sums in a fixed order (deterministic split-K, no float atomics).
 *
 * Several layers that share their buffers (`uploadVqLayers`) run as one dispatch: `table` holds, per layer,
 * its first tile (workgroup along x) and the word/element offsets of its tensors in the shared buffers; its outputs land
 * one after the other in y (`[q | k | v]`). Grid: (Σ tiles of rowsPerWorkgroup vector-rows, splits, G · tokens).
 *
 * 0 indices            u32 words of every layer                    read
 * 1 centroids          vec4u codebook blocks of every layer        read
 * 2 residualCentroids  (placeholder if none)                        read
 * 3 x                  [tokens, xStride] f32, original column order (or [gate | up] of SwiGLU; or the
 *                      residual stream, RMS-normalized here when normalizeInput) read
 * 4 perm               u32 positions → columns (placeholder if none) read
 * 5 norm               [2, in] f32 scale, shift by position (placeholder if none) read
 * 6 bias               f32 (placeholder if none)                    read
 * 7 output             y [tokens, yStride] or partials [slots, tokens, partialStride] f32  read_write
 * 8 params             Params                                       uniform
 */
const vqGemvCommon = /* wgsl */ `
override workgroupSize: u32 = 128;
override vectorLength: u32 = 8;
override indexBits: u32 = 16;
override residualBits: u32 = 0;
override centroidFormat: u32 = 1;
override residualFormat: u32 = 1;
override entryWords: u32 = 4;
override residualEntryWords: u32 = 4;
override alignedChunks: bool = true;
override chunkFields: u32 = 2;
override chunkWords: u32 = 1;
override unroll: u32 = 4;
override directOutput: bool = false;
override hasPerm: bool = false;
override hasNorm: bool = false;
override hasBias: bool = false;
override rowsPerWorkgroup: u32 = 1;
override swigluInput: bool = false;
override normalizeInput: bool = false;
override totalBits: u32 = indexBits + residualBits;
override quads: u32 = (vectorLength + 3u) / 4u;

struct Params {
  rowWords: u32,
  fieldsPerRow: u32,
  columnOffset: u32,
  fieldsPerSplit: u32,
  splits: u32,
  slot: u32,
  xStride: u32,
  yStride: u32,
  tokens: u32,
  inFeatures: u32,
  projections: u32,
  partialStride: u32,
  groupCentroidWords: u32,
  groupResidualWords: u32,
  upOffset: u32,
  epsilon: f32,
  // Per layer three vec4u: (first tile, index word, centroid word, residual word),
  // (perm offset, norm offset, first output, outputs), (bias offset, rows, 0, 0).
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

var<private> beta: f32;
// The sums of the second vector-row when a workgroup takes two (rowsPerWorkgroup = 2), and whether it has one.
var<private> second0: vec4f;
var<private> second1: vec4f;
var<private> second2: vec4f;
var<private> second3: vec4f;
var<private> hasSecond: bool;
// Σ x² of this invocation's fields when the kernel applies RMSNorm to its input.
var<private> squares: f32;

` + vqAccumulateWgsl + /* wgsl */ `

// The same for the second vector-row of a workgroup that takes two (rowsPerWorkgroup = 2).
fn accumulateSecond(field: u32, xv: f32, mainBase: u32, residualBase: u32) {
  let entry = gather(field, mainBase, residualBase);
  second0 += entry.q0 * xv;
  if (quads > 1u) {
    second1 += entry.q1 * xv;
  }
  if (quads > 2u) {
    second2 += entry.q2 * xv;
  }
  if (quads > 3u) {
    second3 += entry.q3 * xv;
  }
}

// x of quantized position 'position' of the layer (or SwiGLU of gate and up there), scaled by its norm; adds
// the shift term to beta.
fn xAt(xBase: u32, position: u32, permBase: u32, normBase: u32) -> f32 {
  var column = position;
  if (hasPerm) {
    column = perm[permBase + position];
  }
  var value = x[xBase + column];
  if (normalizeInput) {
    squares += value * value;
  }
  if (swigluInput) {
    // silu(gate) · up, as the SwiGLU kernel computes it (exp(-g) = inf for g < -88 gives the limit -0).
    value = value / (1.0 + exp(-value)) * x[xBase + params.upOffset + column];
  }
  if (!hasNorm) {
    return value;
  }
  beta += value * norm[normBase + params.inFeatures + position];
  return value * norm[normBase + position];
}

// The layer (entry of the table) whose tiles (workgroups along x) include 'tile'.
fn layerOfTile(tile: u32) -> u32 {
  var layer = 0u;
  for (var i = 1u; i < params.projections; i++) {
    if (tile >= params.table[3u * i].x) {
      layer = i;
    }
  }
  return layer;
}

// The norm's shift term belongs to every output of the row.
fn addBeta() {
  if (hasNorm) {
    sum0 += vec4f(beta);
    sum1 += vec4f(beta);
    sum2 += vec4f(beta);
    sum3 += vec4f(beta);
  }
}

// Writes output o (within its layer) of a row: the final y, or the partial of this workgroup's slot. The bias
// is added once: by the first split of the first group of the main part.
fn storeOutput(sum: f32, o: u32, split: u32, group: u32, token: u32, where1: vec4u, where2: vec4u) {
  var value = sum;
  if (hasBias && split == 0u && group == 0u && params.slot == 0u) {
    value += bias[where2.x + o];
  }
  let outIndex = where1.z + o;
  if (directOutput) {
    output[token * params.yStride + outIndex] = value;
  } else {
    let slot = params.slot + group * params.splits + split;
    output[(slot * params.tokens + token) * params.partialStride + outIndex] = value;
  }
}

// Adds the fields first..end of the packed row at rowWord (quantized positions positionBase + s) into the
// sums; this invocation takes chunks start, start + stride, … (the others of its workgroup the rest).
fn accumulateRange(
  rowWord: u32,
  first: u32,
  end: u32,
  start: u32,
  stride: u32,
  positionBase: u32,
  xBase: u32,
  permBase: u32,
  normBase: u32,
  mainBase: u32,
  residualBase: u32,
) {
  if (alignedChunks) {
    // Invocation i of n takes chunks i, i + n, …, 'unroll' of them per iteration: neighbouring
    // invocations read neighbouring words, and all index words of an iteration are loaded before any gather.
    for (var chunk = first / chunkFields + start; chunk * chunkFields < end; chunk += stride * unroll) {
      var words: array<u32, 9>;
      var secondWords: array<u32, 9>;
      for (var u = 0u; u < unroll; u++) {
        let c = chunk + u * stride;
        if (c * chunkFields < end) {
          for (var l = 0u; l < chunkWords; l++) {
            words[u * chunkWords + l] = indices[rowWord + c * chunkWords + l];
            if (rowsPerWorkgroup == 2u && hasSecond) {
              secondWords[u * chunkWords + l] = indices[rowWord + params.rowWords + c * chunkWords + l];
            }
          }
        }
      }
      for (var u = 0u; u < unroll; u++) {
        let s0 = (chunk + u * stride) * chunkFields;
        for (var f = 0u; f < chunkFields; f++) {
          let s = s0 + f;
          if (s < end) {
            let xv = xAt(xBase, positionBase + s, permBase, normBase);
            // Constant word and bit offsets once the loops are unrolled: the words stay in registers.
            let bit = f * totalBits;
            let w = u * chunkWords + (bit >> 5u);
            accumulate(fieldFrom(words[w], words[min(w + 1u, 8u)], bit & 31u), xv, mainBase, residualBase);
            if (rowsPerWorkgroup == 2u && hasSecond) {
              accumulateSecond(fieldFrom(secondWords[w], secondWords[min(w + 1u, 8u)], bit & 31u), xv, mainBase, residualBase);
            }
          }
        }
      }
    }
  } else {
    // Fields that straddle words irregularly (e.g. 13 bits): one field per step from two words.
    for (var s = first + start; s < end; s += stride) {
      let bit = s * totalBits;
      let word = rowWord + (bit >> 5u);
      let offset = bit & 31u;
      let xv = xAt(xBase, positionBase + s, permBase, normBase);
      accumulate(fieldFrom(indices[word], indices[word + 1u], offset), xv, mainBase, residualBase);
      if (rowsPerWorkgroup == 2u && hasSecond) {
        let secondWord = word + params.rowWords;
        accumulateSecond(fieldFrom(indices[secondWord], indices[secondWord + 1u], offset), xv, mainBase, residualBase);
      }
    }
  }
}

` + lowBitsWgsl + vqBlockWgsl + packedFieldWgsl;

const vqGemvWorkgroupMain = /* wgsl */ `
@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(local_invocation_index) local: u32,
  lanes: Lanes,
) {
  // A workgroup takes rowsPerWorkgroup (1 or 2) consecutive vector-rows of one layer: a tile.
  let tile = workgroup.x;
  let split = workgroup.y;
  let group = workgroup.z / params.tokens;
  let token = workgroup.z % params.tokens;
  let layer = layerOfTile(tile);
  let where0 = params.table[3u * layer];
  let where1 = params.table[3u * layer + 1u];
  let where2 = params.table[3u * layer + 2u];
  let localRow = (tile - where0.x) * rowsPerWorkgroup;
  let second = rowsPerWorkgroup == 2u && localRow + 1u < where2.y;
  hasSecond = second;
  let rowWord = where0.y + (group * where2.y + localRow) * params.rowWords;
  let mainBase = where0.z + group * params.groupCentroidWords;
  let residualBase = where0.w + group * params.groupResidualWords;
  let positionBase = params.columnOffset + group * params.fieldsPerRow;
  let xBase = token * params.xStride;
  let first = split * params.fieldsPerSplit;
  let end = min(first + params.fieldsPerSplit, params.fieldsPerRow);

  accumulateRange(rowWord, first, end, local, workgroupSize, positionBase, xBase, where1.x, where1.y, mainBase, residualBase);

  addBeta();
  for (var r = 0u; r < rowsPerWorkgroup; r++) {
    if (r == 1u) {
      // 'second' is the same for the whole workgroup, so the barriers of reduceQuads stay uniform.
      if (!second) {
        break;
      }
      sum0 = second0;
      sum1 = second1;
      sum2 = second2;
      sum3 = second3;
      addBeta();
    }
    reduceQuads(local, lanes);
    for (var j = local; j < vectorLength; j += workgroupSize) {
      let o = (localRow + r) * vectorLength + j;
      if (o < where1.w) {
        var value = reducedQuads[j / 4u][j % 4u];
        if (normalizeInput) {
          // RMSNorm of x without its gain (folded into the layer's norm): the sums are linear in x.
          value *= inverseSqrt(reducedSquares / f32(params.inFeatures) + params.epsilon);
        }
        storeOutput(value, o, split, group, token, where1, where2);
      }
    }
    workgroupBarrier();
  }
}
`;

/** Reduction of sum0…sum3 through workgroup memory: a tree over invocations, log2(workgroupSize) barriers. */
const sharedMemoryQuadReduceWgsl = /* wgsl */ `
struct Lanes {
  @builtin(local_invocation_id) unusedLocalId: vec3u,
}

override scratchSize: u32 = workgroupSize * quads;
var<workgroup> scratch: array<vec4f, scratchSize>;
var<workgroup> reducedQuads: array<vec4f, 4>;
override squareSlots: u32 = select(1u, workgroupSize, normalizeInput);
var<workgroup> squareScratch: array<f32, squareSlots>;
var<workgroup> reducedSquares: f32;

fn reduceQuads(local: u32, lanes: Lanes) {
  if (normalizeInput) {
    squareScratch[local] = squares;
  }
  scratch[local] = sum0;
  if (quads > 1u) {
    scratch[workgroupSize + local] = sum1;
  }
  if (quads > 2u) {
    scratch[2u * workgroupSize + local] = sum2;
  }
  if (quads > 3u) {
    scratch[3u * workgroupSize + local] = sum3;
  }
  workgroupBarrier();
  for (var stride = workgroupSize / 2u; stride > 0u; stride >>= 1u) {
    if (local < stride) {
      for (var q = 0u; q < quads; q++) {
        scratch[q * workgroupSize + local] += scratch[q * workgroupSize + local + stride];
      }
      if (normalizeInput) {
        squareScratch[local] += squareScratch[local + stride];
      }
    }
    workgroupBarrier();
  }
  if (local < quads) {
    reducedQuads[local] = scratch[local * workgroupSize];
  }
  if (normalizeInput && local == 0u) {
    reducedSquares = squareScratch[0];
  }
  workgroupBarrier();
}
`;

/**
 * Reduction of sum0…sum3 with `subgroupAdd`, then one slot per subgroup in workgroup memory (subgroups
 * are assumed to hold consecutive invocation indices, as every Vulkan, Metal and D3D12 driver lays out a
 * 1-D workgroup; subgroups have at least 4 invocations).
 */
const subgroupQuadReduceWgsl = /* wgsl */ `
struct Lanes {
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) size: u32,
}

override scratchSize: u32 = max(workgroupSize / 4u, 1u) * 4u;
var<workgroup> scratch: array<vec4f, scratchSize>;
var<workgroup> reducedQuads: array<vec4f, 4>;
override squareSlots: u32 = select(1u, max(workgroupSize / 4u, 1u), normalizeInput);
var<workgroup> squareScratch: array<f32, squareSlots>;
var<workgroup> reducedSquares: f32;

fn reduceQuads(local: u32, lanes: Lanes) {
  let subgroup = local / lanes.size;
  if (normalizeInput) {
    let totalSquares = subgroupAdd(squares);
    if (lanes.lane == 0u) {
      squareScratch[subgroup] = totalSquares;
    }
  }
  let total0 = subgroupAdd(sum0);
  if (lanes.lane == 0u) {
    scratch[subgroup * 4u] = total0;
  }
  if (quads > 1u) {
    let total1 = subgroupAdd(sum1);
    if (lanes.lane == 0u) {
      scratch[subgroup * 4u + 1u] = total1;
    }
  }
  if (quads > 2u) {
    let total2 = subgroupAdd(sum2);
    if (lanes.lane == 0u) {
      scratch[subgroup * 4u + 2u] = total2;
    }
  }
  if (quads > 3u) {
    let total3 = subgroupAdd(sum3);
    if (lanes.lane == 0u) {
      scratch[subgroup * 4u + 3u] = total3;
    }
  }
  workgroupBarrier();
  if (local < quads) {
    var total = vec4f(0.0);
    let count = (workgroupSize + lanes.size - 1u) / lanes.size;
    for (var s = 0u; s < count; s++) {
      total += scratch[s * 4u + local];
    }
    reducedQuads[local] = total;
  }
  if (normalizeInput && local == 0u) {
    var total = 0.0;
    let count = (workgroupSize + lanes.size - 1u) / lanes.size;
    for (var s = 0u; s < count; s++) {
      total += squareScratch[s];
    }
    reducedSquares = total;
  }
  workgroupBarrier();
}
`;

/** The fused VQ-GEMV with a workgroup-memory reduction (no optional feature). */
export const vqGemvWgsl = vqGemvCommon + vqGemvWorkgroupMain + sharedMemoryQuadReduceWgsl;

/** The fused VQ-GEMV with a subgroup reduction (needs the `subgroups` feature). */
export const vqGemvSubgroupsWgsl = 'enable subgroups;\n' + vqGemvCommon + vqGemvWorkgroupMain + subgroupQuadReduceWgsl;

/**
 * The split-K reduction of the fused VQ-GEMV when several workgroups feed one output (column splits, groups,
 * the outlier part): `y[t, o] = Σ_slot partials[slot, t, o]`, summed in a fixed order (bias and β are
 * already in the partials).
 *
 * 0 partials  [slots, tokens, outputs] f32        read
 * 1 y         [tokens, yStride] f32               read_write
 * 2 params    Params                              uniform
 */
export const vqGemvReduceWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;

struct Params {
  outputs: u32,
  tokens: u32,
  slots: u32,
  yStride: u32,
}

@group(0) @binding(0) var<storage, read> partials: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let o = id.x;
  let token = id.y;
  if (o >= params.outputs) {
    return;
  }
  var sum = 0.0;
  let stride = params.tokens * params.outputs;
  for (var slot = 0u; slot < params.slots; slot++) {
    sum += partials[slot * stride + token * params.outputs + o];
  }
  y[token * params.yStride + o] = sum;
}
`;
