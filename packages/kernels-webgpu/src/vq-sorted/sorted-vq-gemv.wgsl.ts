/**
 * The fused VQ-GEMV over the sorted layout (`uploadSortedVqLayer`): each vector-row's fields sorted by
 * codebook index, one u32 `index | column << 16` per field. A workgroup first writes its token's x into
 * workgroup memory, scaled by the norm (`xs[c] = x[c] · scale[c]`), and sums the norm's shift term
 * `β = Σ x[c] · shift[c]`; then it takes `rowsPerWorkgroup` vector-rows one after the other, its subgroups
 * splitting each row's fields: lane i of a subgroup reads field i (coalesced), gathers `xs[column]` from
 * workgroup memory and the codebook entry of its index, which lies next to its neighbours' (the fields are
 * sorted), accumulates the v ≤ 8 outputs in two vec4 registers, and the row is reduced with subgroupAdd and
 * one slot per subgroup. Grid: (ceil(R / rowsPerWorkgroup), 1, tokens).
 *
 * 0 fields     [R, S] u32                read
 * 1 centroids  [K, stride] (array<vec4u>) read
 * 2 x          [tokens, xStride] f32     read
 * 3 norm       [2, in] f32 by column (placeholder if none) read
 * 4 bias       [out] f32 (placeholder if none) read
 * 5 y          [tokens, yStride] f32     read_write
 * 6 params     Params                    uniform
 */
export const sortedVqGemvWgsl = /* wgsl */ `
enable subgroups;
diagnostic(off, subgroup_uniformity);

override workgroupSize: u32 = 256;
override vectorLength: u32 = 8;
override centroidFormat: u32 = 1;
override entryWords: u32 = 4;
override hasNorm: bool = false;
override hasBias: bool = false;
override rowsPerWorkgroup: u32 = 4;
override unroll: u32 = 4;
override xWords: u32 = 4096;
override quads: u32 = (vectorLength + 3u) / 4u;

struct Params {
  fieldsPerRow: u32,
  vectorRows: u32,
  outFeatures: u32,
  inFeatures: u32,
  xStride: u32,
  yStride: u32,
}

@group(0) @binding(0) var<storage, read> fields: array<u32>;
@group(0) @binding(1) var<storage, read> centroids: array<vec4u>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> norm: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

override subgroupSlots: u32 = workgroupSize / 4u;
override partialSlots: u32 = 2u * subgroupSlots;

var<workgroup> xs: array<f32, xWords>;
// Per subgroup (subgroups have at least 4 invocations): the partial sums of the current row, and of β.
var<workgroup> partials: array<vec4f, partialSlots>;
var<workgroup> betaParts: array<f32, subgroupSlots>;

fn quadOf(block: vec4u, high: bool) -> vec4f {
  if (centroidFormat == 0u) {
    return bitcast<vec4f>(block);
  }
  let pair = select(block.xy, block.zw, high);
  if (centroidFormat == 1u) {
    return vec4f(unpack2x16float(pair.x), unpack2x16float(pair.y));
  }
  return bitcast<vec4f>(vec4u(pair.x << 16u, pair.x & 0xffff0000u, pair.y << 16u, pair.y & 0xffff0000u));
}

// Adds field j's contribution to sum0/sum1.
fn entryBlock(index: u32, b: u32) -> vec4u {
  let w = index * entryWords;
  let block = centroids[(w >> 2u) + b];
  if (entryWords == 2u) {
    return select(block, block.zwxy, (w & 2u) != 0u);
  }
  if (entryWords == 1u) {
    return vec4u(block[w & 3u], 0u, 0u, 0u);
  }
  return block;
}

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(local_invocation_index) local: u32,
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) subgroupSize: u32,
) {
  let token = workgroup.z;
  let lanes = min(subgroupSize, workgroupSize);
  let subgroups = workgroupSize / lanes;
  let subgroup = local / lanes;
  var shift = 0.0;
  for (var c = local; c < params.inFeatures; c += workgroupSize) {
    let value = x[token * params.xStride + c];
    if (hasNorm) {
      xs[c] = value * norm[c];
      shift += value * norm[params.inFeatures + c];
    } else {
      xs[c] = value;
    }
  }
  shift = subgroupAdd(shift);
  if (lane == 0u) {
    betaParts[subgroup] = shift;
  }
  workgroupBarrier();
  var beta = 0.0;
  for (var s = 0u; s < subgroups; s++) {
    beta += betaParts[s];
  }

  for (var r = 0u; r < rowsPerWorkgroup; r++) {
    let row = workgroup.x * rowsPerWorkgroup + r;
    if (row >= params.vectorRows) {
      break;
    }
    let base = row * params.fieldsPerRow;
    var sum0 = vec4f(0.0);
    var sum1 = vec4f(0.0);
    // Subgroup k takes fields k·lanes + i, k·lanes + i + lanes·subgroups, …: each load of a subgroup is one
    // contiguous run of sorted fields.
    let stride = lanes * subgroups;
    for (var j = subgroup * lanes + lane; j < params.fieldsPerRow; j += stride * unroll) {
      for (var u = 0u; u < unroll; u++) {
        let field = j + u * stride;
        if (field < params.fieldsPerRow) {
          let word = fields[base + field];
          let xv = xs[word >> 16u];
          let index = word & 0xffffu;
          let block0 = entryBlock(index, 0u);
          sum0 += quadOf(block0, false) * xv;
          if (quads > 1u) {
            if (centroidFormat == 0u) {
              sum1 += quadOf(entryBlock(index, 1u), false) * xv;
            } else {
              sum1 += quadOf(block0, true) * xv;
            }
          }
        }
      }
    }
    let total0 = subgroupAdd(sum0);
    let total1 = subgroupAdd(sum1);
    if (lane == 0u) {
      partials[2u * subgroup] = total0;
      partials[2u * subgroup + 1u] = total1;
    }
    workgroupBarrier();
    if (local < vectorLength) {
      let o = row * vectorLength + local;
      if (o < params.outFeatures) {
        var value = beta;
        for (var s = 0u; s < subgroups; s++) {
          value += partials[2u * s + local / 4u][local % 4u];
        }
        if (hasBias) {
          value += bias[o];
        }
        y[token * params.yStride + o] = value;
      }
    }
    workgroupBarrier();
  }
}
`;
