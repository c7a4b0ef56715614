import { codebookQuadWgsl, codebookReaderWgsl, lowBitsWgsl } from '../vq-layer/wgsl-codebook';

/**
 * Step 1 of the fused VQ-GEMV (skipped when the layer has neither perm nor norm): gathers and scales the
 * activations once per token so that the main pass reads them contiguously in packed (quantization)
 * order, `xs[t, p] = x[t, perm[p]] · scale[perm[p]]`, and sums the norm's bias term, which is the same for
 * every output: `W[o, c] = C[o, c] · scale[c] + normBias[c]` gives `y = Σ_p C[o, p] · xs[p] + beta` with
 * `beta[t] = Σ_c x[t, c] · normBias[c]`. Each workgroup writes the partial beta of its 256 positions to
 * `beta[t, block]`; the consumers add the `betaBlocks` partials (no serial loop over all columns).
 * Grid: (betaBlocks = ceil(in / workgroupSize), tokens).
 *
 * 0 x       [tokens, xStride] f32          read
 * 1 perm    [in] u32 (or placeholder)      read
 * 2 norm    [2, in] f32 (or placeholder)   read
 * 3 xs      [tokens, xsStride] f32         read_write
 * 4 beta    [tokens, betaBlocks] f32       read_write
 * 5 params  Params                         uniform
 */
export const vqGemvPrepareWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;
override hasPerm: bool = false;
override hasNorm: bool = false;

struct Params {
  inFeatures: u32,
  xStride: u32,
  xsStride: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> perm: array<u32>;
@group(0) @binding(2) var<storage, read> norm: array<f32>;
@group(0) @binding(3) var<storage, read_write> xs: array<f32>;
@group(0) @binding(4) var<storage, read_write> beta: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

var<workgroup> partial: array<f32, workgroupSize>;

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let token = workgroup.y;
  let position = workgroup.x * workgroupSize + local;
  var shifted = 0.0;
  if (position < params.inFeatures) {
    var column = position;
    if (hasPerm) {
      column = perm[position];
    }
    let value = x[token * params.xStride + column];
    var scaled = value;
    if (hasNorm) {
      scaled = value * norm[column];
      shifted = value * norm[params.inFeatures + column];
    }
    xs[token * params.xsStride + position] = scaled;
  }
  if (!hasNorm) {
    return;
  }
  partial[local] = shifted;
  workgroupBarrier();
  for (var stride = workgroupSize / 2u; stride > 0u; stride >>= 1u) {
    if (local < stride) {
      partial[local] += partial[local + stride];
    }
    workgroupBarrier();
  }
  if (local == 0u) {
    beta[token * grid.x + workgroup.x] = partial[0];
  }
}
`;

/**
 * Step 2 of the fused VQ-GEMV, the hot loop of decode: `Σ_p C[o, p] · xs[t, p]` over one part of a packed
 * layer (the main groups, or the repacked outliers) without materializing W. A workgroup takes one
 * (vector-row r, column split, group g, token t); its invocations take consecutive tb-bit fields (so the
 * word and x loads of a subgroup are coalesced), four per iteration, read each at its bit offset (one or
 * two words), look up main (+ residual) centroids four elements at a time (one 16-byte load per 8 f16), and
 * accumulates the v ≤ 16 outputs of its vector-row in four vec4 registers: no arrays, so nothing spills to
 * local memory. The workgroup then reduces (subgroups or workgroup memory) and writes either the final y
 * (one split, one part) or a partial `[slot, token, o]` that step 3 sums in a fixed order (deterministic
 * split-K, no float atomics). Grid: (R, splits, G · tokens).
 *
 * 0 indices            [G, R, rowWords] u32 (+2 words)       read
 * 1 centroids          [G, K·v] f32 / f16 / bf16 words       read
 * 2 residualCentroids  [G, Kr·v] (placeholder if none)       read
 * 3 xs                 [tokens, xsStride] f32 from step 1 (x itself without perm and norm)  read
 * 4 beta               [tokens, betaBlocks] f32 from step 1 (or placeholder)  read
 * 5 bias               [out] f32 (placeholder if none)       read
 * 6 output             y [tokens, yStride] or partials [slots, tokens, out] f32  read_write
 * 7 params             Params                                uniform
 */
const vqGemvBody = /* wgsl */ `
override workgroupSize: u32 = 128;
override vectorLength: u32 = 8;
override indexBits: u32 = 16;
override residualBits: u32 = 0;
override centroidFormat: u32 = 1;
override residualFormat: u32 = 1;
override directOutput: bool = false;
override hasBias: bool = false;
override hasBeta: bool = false;
override totalBits: u32 = indexBits + residualBits;
override quads: u32 = (vectorLength + 3u) / 4u;

struct Params {
  vectorRows: u32,
  rowWords: u32,
  fieldsPerRow: u32,
  columnOffset: u32,
  fieldsPerSplit: u32,
  splits: u32,
  slot: u32,
  outFeatures: u32,
  xsStride: u32,
  yStride: u32,
  centroidsPerGroup: u32,
  residualPerGroup: u32,
  tokens: u32,
  betaBlocks: u32,
}

@group(0) @binding(0) var<storage, read> indices: array<u32>;
@group(0) @binding(1) var<storage, read> centroids: array<vec4u>;
@group(0) @binding(2) var<storage, read> residualCentroids: array<vec4u>;
@group(0) @binding(3) var<storage, read> xs: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read_write> output: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

var<private> sum0: vec4f;
var<private> sum1: vec4f;
var<private> sum2: vec4f;
var<private> sum3: vec4f;

// Field s of the packed row starting at word rowWord: tb bits at bit s·tb, LSB-first, maybe straddling.
fn readField(rowWord: u32, s: u32) -> u32 {
  let bit = s * totalBits;
  let word = rowWord + (bit >> 5u);
  let offset = bit & 31u;
  var field = indices[word] >> offset;
  if (32u % totalBits != 0u) {
    // Both words unconditionally, so lanes that straddle and lanes that do not take the same path.
    field = select(field, field | (indices[word + 1u] << (32u - offset)), offset + totalBits > 32u);
  }
  return field & lowBits(totalBits);
}

fn accumulate(field: u32, xv: f32, mainBase: u32, residualBase: u32) {
  let main = mainBase + (field & lowBits(indexBits)) * vectorLength;
  let residual = residualBase + ((field >> min(indexBits, 31u)) & lowBits(residualBits)) * vectorLength;
  var quad = quadMain(main);
  if (residualBits > 0u) {
    quad += quadResidual(residual);
  }
  sum0 += quad * xv;
  if (quads > 1u) {
    quad = quadMain(main + 4u);
    if (residualBits > 0u) {
      quad += quadResidual(residual + 4u);
    }
    sum1 += quad * xv;
  }
  if (quads > 2u) {
    quad = quadMain(main + 8u);
    if (residualBits > 0u) {
      quad += quadResidual(residual + 8u);
    }
    sum2 += quad * xv;
  }
  if (quads > 3u) {
    quad = quadMain(main + 12u);
    if (residualBits > 0u) {
      quad += quadResidual(residual + 12u);
    }
    sum3 += quad * xv;
  }
}

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(local_invocation_index) local: u32,
  lanes: Lanes,
) {
  let row = workgroup.x;
  let split = workgroup.y;
  let group = workgroup.z / params.tokens;
  let token = workgroup.z % params.tokens;
  let rowWord = (group * params.vectorRows + row) * params.rowWords;
  let xsBase = token * params.xsStride + params.columnOffset + group * params.fieldsPerRow;
  let mainBase = group * params.centroidsPerGroup;
  let residualBase = group * params.residualPerGroup;
  let end = min((split + 1u) * params.fieldsPerSplit, params.fieldsPerRow);
  // Invocations take consecutive fields, so x loads are coalesced and the words of neighbouring fields
  // come from the same cache lines; four fields per iteration keep four codebook loads in flight.
  var s = split * params.fieldsPerSplit + local;
  for (; s + 3u * workgroupSize < end; s += 4u * workgroupSize) {
    let field0 = readField(rowWord, s);
    let field1 = readField(rowWord, s + workgroupSize);
    let field2 = readField(rowWord, s + 2u * workgroupSize);
    let field3 = readField(rowWord, s + 3u * workgroupSize);
    let x0 = xs[xsBase + s];
    let x1 = xs[xsBase + s + workgroupSize];
    let x2 = xs[xsBase + s + 2u * workgroupSize];
    let x3 = xs[xsBase + s + 3u * workgroupSize];
    accumulate(field0, x0, mainBase, residualBase);
    accumulate(field1, x1, mainBase, residualBase);
    accumulate(field2, x2, mainBase, residualBase);
    accumulate(field3, x3, mainBase, residualBase);
  }
  for (; s < end; s += workgroupSize) {
    accumulate(readField(rowWord, s), xs[xsBase + s], mainBase, residualBase);
  }
  reduceQuads(local, lanes);
  for (var j = local; j < vectorLength; j += workgroupSize) {
    let o = row * vectorLength + j;
    if (o < params.outFeatures) {
      let value = reducedQuads[j / 4u][j % 4u];
      if (directOutput) {
        var result = value;
        if (hasBeta) {
          for (var b = 0u; b < params.betaBlocks; b++) {
            result += beta[token * params.betaBlocks + b];
          }
        }
        if (hasBias) {
          result += bias[o];
        }
        output[token * params.yStride + o] = result;
      } else {
        let slot = params.slot + group * params.splits + split;
        output[(slot * params.tokens + token) * params.outFeatures + o] = value;
      }
    }
  }
}
` +
  codebookReaderWgsl('centroids', 'centroidFormat', 'Main') +
  codebookReaderWgsl('residualCentroids', 'residualFormat', 'Residual') +
  codebookQuadWgsl('centroids', 'centroidFormat', 'Main') +
  codebookQuadWgsl('residualCentroids', 'residualFormat', 'Residual') +
  lowBitsWgsl;

/** Reduction of sum0…sum3 through workgroup memory: a tree over invocations, log2(workgroupSize) barriers. */
const sharedMemoryQuadReduceWgsl = /* wgsl */ `
struct Lanes {
  @builtin(local_invocation_id) unusedLocalId: vec3u,
}

override scratchSize: u32 = workgroupSize * quads;
var<workgroup> scratch: array<vec4f, scratchSize>;
var<workgroup> reducedQuads: array<vec4f, 4>;

fn reduceQuads(local: u32, lanes: Lanes) {
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
    }
    workgroupBarrier();
  }
  if (local < quads) {
    reducedQuads[local] = scratch[local * workgroupSize];
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

fn reduceQuads(local: u32, lanes: Lanes) {
  let subgroup = local / lanes.size;
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
  workgroupBarrier();
}
`;

/** Step 2 with a workgroup-memory reduction (no optional feature). */
export const vqGemvWgsl = vqGemvBody + sharedMemoryQuadReduceWgsl;

/** Step 2 with a subgroup reduction (needs the `subgroups` feature). */
export const vqGemvSubgroupsWgsl = 'enable subgroups;\n' + vqGemvBody + subgroupQuadReduceWgsl;

/**
 * Step 3 of the fused VQ-GEMV when several workgroups contribute to one output (column splits, groups, the
 * outlier part): `y[t, o] = Σ_b beta[t, b] + bias[o] + Σ_slot partials[slot, t, o]`, summed in a fixed order.
 *
 * 0 partials  [slots, tokens, out] f32        read
 * 1 beta      [tokens, betaBlocks] f32 (or placeholder)  read
 * 2 bias      [out] f32 (placeholder if none) read
 * 3 y         [tokens, yStride] f32           read_write
 * 4 params    Params                          uniform
 */
export const vqGemvReduceWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;
override hasBias: bool = false;
override hasBeta: bool = false;

struct Params {
  outFeatures: u32,
  tokens: u32,
  slots: u32,
  yStride: u32,
  betaBlocks: u32,
}

@group(0) @binding(0) var<storage, read> partials: array<f32>;
@group(0) @binding(1) var<storage, read> beta: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let o = id.x;
  let token = id.y;
  if (o >= params.outFeatures) {
    return;
  }
  var sum = 0.0;
  if (hasBeta) {
    for (var b = 0u; b < params.betaBlocks; b++) {
      sum += beta[token * params.betaBlocks + b];
    }
  }
  if (hasBias) {
    sum += bias[o];
  }
  let stride = params.tokens * params.outFeatures;
  for (var slot = 0u; slot < params.slots; slot++) {
    sum += partials[slot * stride + token * params.outFeatures + o];
  }
  y[token * params.yStride + o] = sum;
}
`;
