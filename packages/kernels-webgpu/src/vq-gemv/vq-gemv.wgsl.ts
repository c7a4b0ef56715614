import { codebookReaderWgsl, lowBitsWgsl } from '../vq-layer/wgsl-codebook';
import { sharedMemoryReduceWgsl, subgroupReduceWgsl, subgroupsDirective } from '../wgsl-reduce';

/**
 * Step 1 of the fused VQ-GEMV: gathers and scales the activations once per token so that the main pass
 * reads them contiguously in packed (quantization) order: `xs[t, p] = x[t, perm[p]] · scale[perm[p]]`, and
 * the norm's bias term, which is the same for every output, `beta[t] = Σ_c x[t, c] · normBias[c]`
 * (`W[o, c] = C[o, c] · scale[c] + normBias[c]` gives `y = Σ_p C[o, p] · xs[p] + beta`). The last workgroup
 * of each token row computes beta; the others gather. Grid: (ceil(in / workgroupSize) + 1, tokens).
 *
 * 0 x       [tokens, xStride] f32          read
 * 1 perm    [in] u32 (or placeholder)      read
 * 2 norm    [2, in] f32 (or placeholder)   read
 * 3 xs      [tokens, xsStride] f32         read_write
 * 4 beta    [tokens] f32                   read_write
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
  let xBase = token * params.xStride;
  if (workgroup.x + 1u < grid.x) {
    let position = workgroup.x * workgroupSize + local;
    if (position < params.inFeatures) {
      var column = position;
      if (hasPerm) {
        column = perm[position];
      }
      var value = x[xBase + column];
      if (hasNorm) {
        value *= norm[column];
      }
      xs[token * params.xsStride + position] = value;
    }
    return;
  }
  var sum = 0.0;
  if (hasNorm) {
    for (var c = local; c < params.inFeatures; c += workgroupSize) {
      sum += x[xBase + c] * norm[params.inFeatures + c];
    }
  }
  partial[local] = sum;
  workgroupBarrier();
  for (var stride = workgroupSize / 2u; stride > 0u; stride >>= 1u) {
    if (local < stride) {
      partial[local] += partial[local + stride];
    }
    workgroupBarrier();
  }
  if (local == 0u) {
    beta[token] = partial[0];
  }
}
`;

/**
 * Step 2 of the fused VQ-GEMV, the hot loop of decode: `Σ_p C[o, p] · xs[t, p]` over one part of a packed
 * layer (the main groups, or the repacked outliers) without materializing W. A workgroup takes one
 * (vector-row r, column split, group g); each invocation decodes chunks of `fieldsPerChunk` consecutive
 * tb-bit fields, where fieldsPerChunk · tb is a multiple of 32 so every chunk starts on a word, streaming
 * the words through a 64-bit window (two registers) so that straddling fields need no second load, looks
 * up main (+ residual) centroids, and accumulates v sums per token in f32. Then the workgroup reduces
 * (subgroups or workgroup memory) and writes either the final `y` (one split, one part) or a partial
 * `[slot, token, o]` that the reduce step sums in a fixed order (deterministic split-K, no float atomics).
 * Grid: (R, splits, G).
 *
 * 0 indices            [G, R, rowWords] u32 (+2 words)       read
 * 1 centroids          [G, K·v] f32 / f16 / bf16 words       read
 * 2 residualCentroids  [G, Kr·v] (placeholder if none)       read
 * 3 xs                 [tokens, xsStride] f32 from step 1    read
 * 4 beta               [tokens] f32 from step 1              read
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
override tokenCount: u32 = 1;
override fieldsPerChunk: u32 = 8;
override directOutput: bool = false;
override hasBias: bool = false;
override sumCount: u32 = tokenCount * vectorLength;
override totalBits: u32 = indexBits + residualBits;

const maxTokens = 8u;

struct Params {
  vectorRows: u32,
  rowWords: u32,
  fieldsPerRow: u32,
  columnOffset: u32,
  chunksPerRow: u32,
  chunksPerSplit: u32,
  splits: u32,
  slot: u32,
  outFeatures: u32,
  xsStride: u32,
  yStride: u32,
  centroidsPerGroup: u32,
  residualPerGroup: u32,
}

@group(0) @binding(0) var<storage, read> indices: array<u32>;
@group(0) @binding(1) var<storage, read> centroids: array<vec4u>;
@group(0) @binding(2) var<storage, read> residualCentroids: array<vec4u>;
@group(0) @binding(3) var<storage, read> xs: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read_write> output: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

var<private> sums: array<f32, maxSums>;

fn accumulate(field: u32, column: u32, group: u32) {
  var xv: array<f32, maxTokens>;
  for (var t = 0u; t < tokenCount; t++) {
    xv[t] = xs[t * params.xsStride + column];
  }
  let mainBase = group * params.centroidsPerGroup + (field & lowBits(indexBits)) * vectorLength;
  let residualBase = group * params.residualPerGroup + ((field >> min(indexBits, 31u)) & lowBits(residualBits)) * vectorLength;
  if (vectorLength % 2u == 0u) {
    for (var j = 0u; j < vectorLength; j += 2u) {
      var pair = pairMain(mainBase + j);
      if (residualBits > 0u) {
        pair += pairResidual(residualBase + j);
      }
      for (var t = 0u; t < tokenCount; t++) {
        sums[t * vectorLength + j] += pair.x * xv[t];
        sums[t * vectorLength + j + 1u] += pair.y * xv[t];
      }
    }
  } else {
    for (var j = 0u; j < vectorLength; j++) {
      var value = elementMain(mainBase + j);
      if (residualBits > 0u) {
        value += elementResidual(residualBase + j);
      }
      for (var t = 0u; t < tokenCount; t++) {
        sums[t * vectorLength + j] += value * xv[t];
      }
    }
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
  let group = workgroup.z;
  for (var a = 0u; a < sumCount; a++) {
    sums[a] = 0.0;
  }
  let fieldMask = lowBits(totalBits);
  let rowWord = (group * params.vectorRows + row) * params.rowWords;
  let columnBase = params.columnOffset + group * params.fieldsPerRow;
  let chunkEnd = min((split + 1u) * params.chunksPerSplit, params.chunksPerRow);
  for (var chunk = split * params.chunksPerSplit + local; chunk < chunkEnd; chunk += workgroupSize) {
    let firstField = chunk * fieldsPerChunk;
    var word = rowWord + firstField * totalBits / 32u;
    var low = indices[word];
    var high = indices[word + 1u];
    word += 2u;
    var bit = 0u;
    for (var k = 0u; k < fieldsPerChunk; k++) {
      let field = select((low >> bit) | (high << (32u - bit)), low, bit == 0u) & fieldMask;
      bit += totalBits;
      if (bit >= 32u) {
        bit -= 32u;
        low = high;
        high = indices[word];
        word += 1u;
      }
      if (firstField + k < params.fieldsPerRow) {
        accumulate(field, columnBase + firstField + k, group);
      }
    }
  }
  reduceSums(local, lanes);
  for (var a = local; a < sumCount; a += workgroupSize) {
    let token = a / vectorLength;
    let o = row * vectorLength + a % vectorLength;
    if (o < params.outFeatures) {
      let value = reducedSum(a);
      if (directOutput) {
        var result = value + beta[token];
        if (hasBias) {
          result += bias[o];
        }
        output[token * params.yStride + o] = result;
      } else {
        let slot = params.slot + group * params.splits + split;
        output[(slot * tokenCount + token) * params.outFeatures + o] = value;
      }
    }
  }
}
` +
  codebookReaderWgsl('centroids', 'centroidFormat', 'Main') +
  codebookReaderWgsl('residualCentroids', 'residualFormat', 'Residual') +
  lowBitsWgsl;

/** Step 2 with a workgroup-memory reduction (no optional feature). */
export const vqGemvWgsl = vqGemvBody + sharedMemoryReduceWgsl;

/** Step 2 with a subgroup reduction (needs the `subgroups` feature). */
export const vqGemvSubgroupsWgsl = subgroupsDirective + vqGemvBody + subgroupReduceWgsl;

/**
 * Step 3 of the fused VQ-GEMV when several workgroups contribute to one output (column splits, groups, the
 * outlier part): `y[t, o] = Σ_slot partials[slot, t, o] + beta[t] + bias[o]`, summed in slot order.
 *
 * 0 partials  [slots, tokens, out] f32        read
 * 1 beta      [tokens] f32                    read
 * 2 bias      [out] f32 (placeholder if none) read
 * 3 y         [tokens, yStride] f32           read_write
 * 4 params    Params                          uniform
 */
export const vqGemvReduceWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;
override hasBias: bool = false;

struct Params {
  outFeatures: u32,
  tokens: u32,
  slots: u32,
  yStride: u32,
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
  var sum = beta[token];
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
