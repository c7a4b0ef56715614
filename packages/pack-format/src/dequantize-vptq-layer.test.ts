import { randomPermutation } from '@vptq/kmeans';
import { createTestRng } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { bf16BitsToF32 } from './bf16-bits';
import { createByteSource } from './byte-source';
import { dequantizeVptqLayer } from './dequantize-vptq-layer';
import { encodeSafetensors } from './encode-safetensors';
import { f16BitsToF32, f32ToF16Bits } from './f16-bits';
import { floatTensorFromF32 } from './float-tensor';
import { packIndices } from './pack-indices';
import { PackFormatError } from './pack-format-error';
import { parseSafetensorsHeader } from './parse-safetensors-header';
import { createStoredTensorLookup, readVptqLayerTensors, type StoredTensor } from './read-vptq-layer-tensors';
import type { VptqLayerConfig } from './vptq-layer-config';
import { encodeVptqLayerTensors, getVptqLayerTensorSpecs, type VptqLayerTensors } from './vptq-layer-tensors';
import { specLayerConfig } from './test/spec-layer-config';

// The spec's own verification case (§5, "I verified this spec numerically").
const fullConfig = specLayerConfig;

interface HandBuiltLayer {
  tensors: VptqLayerTensors;
  main: Uint32Array;
  residual: Uint32Array;
}

function buildLayer(config: VptqLayerConfig, seed: number): HandBuiltLayer {
  const next = createTestRng(seed);
  const randomInt = (limit: number): number => Math.floor(next() * limit);
  const randomF16 = (count: number, scale: number): Uint16Array =>
    Uint16Array.from({ length: count }, () => f32ToF16Bits((next() * 2 - 1) * scale));
  const { groupNum: G, vectorLength: v, numCentroids: K, numResidualCentroids: Kr, groupSize: S, outlierSize: O } = config;
  const R = Math.ceil(config.outFeatures / v);
  const main = Uint32Array.from({ length: G * R * S }, () => randomInt(K));
  const hasResidual = Kr > 0;
  const residual = Uint32Array.from({ length: G * R * S }, () => (hasResidual ? randomInt(Kr) : 0));
  const hasOutliers = config.numOutlierCentroids > 0;
  const vo = config.outlierVectorLength;
  const perm = Uint16Array.from(randomPermutation(config.inFeatures, next));
  const tensors: VptqLayerTensors = {
    centroids: { dtype: 'F16', data: randomF16(G * K * v, 1) },
    residualCentroids: hasResidual ? { dtype: 'F16', data: randomF16(G * Kr * v, 0.1) } : undefined,
    outlierCentroids: hasOutliers ? { dtype: 'F16', data: randomF16(config.numOutlierCentroids * vo, 4) } : undefined,
    indices: packIndices({
      main,
      residual: hasResidual ? residual : undefined,
      groupNum: G,
      vectorRows: R,
      groupSize: S,
      indexBits: Math.log2(K),
      residualBits: hasResidual ? Math.log2(Kr) : 0,
    }),
    outlierIndices: hasOutliers
      ? Uint16Array.from({ length: Math.ceil(config.outFeatures / vo) * O }, () => randomInt(config.numOutlierCentroids))
      : undefined,
    perm: config.enablePerm ? perm : undefined,
    weightScale: config.enableNorm ? { dtype: 'F16', data: Uint16Array.from({ length: config.inFeatures }, () => f32ToF16Bits(0.5 + next())) } : undefined,
    weightBias: config.enableNorm ? { dtype: 'F16', data: randomF16(config.inFeatures, 0.5) } : undefined,
    bias: config.bias ? { dtype: 'F16', data: randomF16(config.outFeatures, 1) } : undefined,
  };
  return { tensors, main, residual };
}

/** W[o][c] straight from the §5.4 formula, using the unpacked indices (no bit reading), stored as f32. */
function referenceWeight(config: VptqLayerConfig, layer: HandBuiltLayer): Float32Array {
  const { tensors, main, residual } = layer;
  const { inFeatures, outFeatures, vectorLength: v, numCentroids: K, numResidualCentroids: Kr, groupSize: S, outlierSize: O } = config;
  const R = Math.ceil(outFeatures / v);
  const vo = config.outlierVectorLength;
  const f16 = (data: Uint16Array | undefined, i: number): number => f16BitsToF32((data as Uint16Array)[i]);
  const weight = new Float32Array(outFeatures * inFeatures);
  for (let c = 0; c < inFeatures; c++) {
    // invperm[c] is the position p holding original column c.
    const p = config.enablePerm ? Array.from(tensors.perm as Uint16Array).indexOf(c) : c;
    for (let o = 0; o < outFeatures; o++) {
      let w: number;
      if (p < O) {
        const index = (tensors.outlierIndices as Uint16Array)[Math.floor(o / vo) * O + p];
        w = f16(tensors.outlierCentroids?.data as Uint16Array, index * vo + (o % vo));
      } else {
        const g = Math.floor((p - O) / S);
        const s = (p - O) % S;
        const r = Math.floor(o / v);
        const j = o % v;
        const at = (g * R + r) * S + s;
        w = f16(tensors.centroids.data as Uint16Array, (g * K + main[at]) * v + j);
        // Main + residual is an f32 addition (spec §5.4 in f32, as the quantizer computes it).
        if (Kr > 0) w = Math.fround(w + f16(tensors.residualCentroids?.data as Uint16Array, (g * Kr + residual[at]) * v + j));
      }
      if (config.enableNorm) w = w * f16(tensors.weightScale?.data as Uint16Array, c) + f16(tensors.weightBias?.data as Uint16Array, c);
      weight[o * inFeatures + c] = w;
    }
  }
  return weight;
}

function maxDifference(actual: Float32Array, expected: Float32Array): number {
  let max = 0;
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(actual[i] - expected[i]));
  return max;
}

function storeLayer(moduleName: string, config: VptqLayerConfig, tensors: VptqLayerTensors) {
  const chunks = encodeSafetensors(encodeVptqLayerTensors(moduleName, config, tensors), { format: 'pt' });
  const file = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    file.set(chunk, at);
    at += chunk.byteLength;
  }
  const source = createByteSource(file);
  const header = parseSafetensorsHeader(source, 'layer.safetensors');
  return { header, lookup: createStoredTensorLookup(source, header, 'layer.safetensors') };
}

describe('dequantizeVptqLayer', () => {
  it('matches the §5.4 formula with outliers, two groups, residual, norm, perm and padding rows', () => {
    const layer = buildLayer(fullConfig, 7);
    const weight = dequantizeVptqLayer({ config: fullConfig, tensors: layer.tensors });
    expect(weight.length).toBe(20 * 20);
    const expected = referenceWeight(fullConfig, layer);
    expect(maxDifference(weight, expected)).toBe(0);
    // Every part of the layer contributes, so a dropped term cannot hide in the tolerance.
    expect(new Set(weight).size).toBeGreaterThan(300);
  });

  it('matches without perm, norm, outliers and residual, and with ragged v', () => {
    const config: VptqLayerConfig = {
      ...fullConfig,
      inFeatures: 12,
      outFeatures: 13,
      vectorLength: 6,
      numCentroids: 32,
      numResidualCentroids: 0,
      outlierVectorLength: 0,
      numOutlierCentroids: 0,
      groupNum: 3,
      groupSize: 4,
      outlierSize: 0,
      enableNorm: false,
      enablePerm: false,
      bias: false,
    };
    const layer = buildLayer(config, 8);
    expect(maxDifference(dequantizeVptqLayer({ config, tensors: layer.tensors }), referenceWeight(config, layer))).toBe(0);
  });

  it('reads BF16 and F32 codebooks', () => {
    const config: VptqLayerConfig = { ...fullConfig, outlierVectorLength: 0, numOutlierCentroids: 0, outlierSize: 0, groupSize: 10 };
    const layer = buildLayer(config, 9);
    const f32Centroids = Float32Array.from(layer.tensors.centroids.data as Uint16Array, f16BitsToF32);
    const asF32 = dequantizeVptqLayer({ config, tensors: { ...layer.tensors, centroids: { dtype: 'F32', data: f32Centroids } } });
    expect(maxDifference(asF32, referenceWeight(config, layer))).toBe(0);
    const bf16 = floatTensorFromF32(f32Centroids, 'BF16');
    const asBf16 = dequantizeVptqLayer({ config, tensors: { ...layer.tensors, centroids: bf16 } });
    const expected = referenceWeight(config, {
      ...layer,
      tensors: { ...layer.tensors, centroids: { dtype: 'F16', data: Uint16Array.from(bf16.data as Uint16Array, (bits) => f32ToF16Bits(bf16BitsToF32(bits))) } },
    });
    // BF16 values with 8-bit mantissas are exact in F16 at these magnitudes.
    expect(maxDifference(asBf16, expected)).toBe(0);
  });

  it('rejects inconsistent tensors', () => {
    const layer = buildLayer(fullConfig, 10);
    expect(() => dequantizeVptqLayer({ config: fullConfig, tensors: { ...layer.tensors, indices: new Uint32Array(3) } })).toThrow(/indices must hold 24 values for shape \[2, 3, 4\] \(got 3\)/);
    expect(() => dequantizeVptqLayer({ config: fullConfig, tensors: { ...layer.tensors, perm: new Uint16Array(20) } })).toThrow(/perm must be a permutation/);
    const outlierIndices = (layer.tensors.outlierIndices as Uint16Array).slice();
    outlierIndices[3] = 16;
    expect(() => dequantizeVptqLayer({ config: fullConfig, tensors: { ...layer.tensors, outlierIndices } })).toThrow(/below Ko = 16 \(got 16 at 3\)/);
    expect(() => dequantizeVptqLayer({ config: fullConfig, tensors: { ...layer.tensors, residualCentroids: undefined } })).toThrow(/residualCentroids is required by the layer config/);
  });
});

describe('layer tensors in safetensors', () => {
  const moduleName = 'model.layers.0.self_attn.q_proj';

  it('writes the reference names, dtypes and shapes and reads them back', () => {
    const layer = buildLayer(fullConfig, 11);
    const { header, lookup } = storeLayer(moduleName, fullConfig, layer.tensors);
    const described = Object.fromEntries(header.tensors.map((info) => [info.name.slice(moduleName.length + 1), `${info.dtype} [${info.shape.join(', ')}]`]));
    expect(described).toEqual({
      'centroids.weight': 'F16 [2, 2048]',
      'res_centroids.weight': 'F16 [2, 8192]',
      'outlier_centroids.weight': 'F16 [1, 64]',
      indices: 'I32 [2, 3, 4]',
      outlier_indices: 'I16 [1, 5, 6]',
      perm: 'I16 [20]',
      weight_scale: 'F16 [20]',
      weight_bias: 'F16 [20]',
      bias: 'F16 [20]',
    });
    expect(getVptqLayerTensorSpecs(fullConfig).map((spec) => spec.suffix).sort()).toEqual(Object.keys(described).sort());
    const read = readVptqLayerTensors(moduleName, fullConfig, lookup, 'layer.safetensors');
    expect(read).toEqual(layer.tensors);
    expect(dequantizeVptqLayer({ config: fullConfig, tensors: read })).toEqual(dequantizeVptqLayer({ config: fullConfig, tensors: layer.tensors }));
  });

  it('reads a legacy I64 perm and F16-typed outlier indices', () => {
    const config = { ...fullConfig, indicesAsFloat: true };
    const layer = buildLayer(config, 12);
    const { lookup } = storeLayer(moduleName, config, layer.tensors);
    expect(lookup(`${moduleName}.outlier_indices`)?.dtype).toBe('F16');
    const legacyPerm: StoredTensor = {
      dtype: 'I64',
      shape: [20],
      data: new Uint8Array(BigInt64Array.from(layer.tensors.perm as Uint16Array, (value) => BigInt(value)).buffer),
    };
    const read = readVptqLayerTensors(moduleName, config, (name) => (name.endsWith('.perm') ? legacyPerm : lookup(name)));
    expect(read.perm).toEqual(layer.tensors.perm);
    expect(read.outlierIndices).toEqual(layer.tensors.outlierIndices);
  });

  it('names the tensor when one is missing, misshapen, mistyped or out of range', () => {
    const layer = buildLayer(fullConfig, 13);
    const { lookup } = storeLayer(moduleName, fullConfig, layer.tensors);
    const attempt = (replace: (name: string) => StoredTensor | undefined | null): PackFormatError => {
      try {
        readVptqLayerTensors(moduleName, fullConfig, (name) => replace(name) ?? (replace(name) === null ? undefined : lookup(name)), 'm');
      } catch (error) {
        expect(error).toBeInstanceOf(PackFormatError);
        return error as PackFormatError;
      }
      throw new Error('expected readVptqLayerTensors to throw');
    };
    const missing = attempt((name) => (name.endsWith('.res_centroids.weight') ? null : undefined));
    expect(missing).toMatchObject({ code: 'VPTQ_PACK_MISSING_TENSOR', tensor: `${moduleName}.res_centroids.weight` });
    const indices = lookup(`${moduleName}.indices`) as StoredTensor;
    const misshapen = attempt((name) => (name.endsWith('.indices') ? { ...indices, shape: [2, 4, 3] } : undefined));
    expect(misshapen.code).toBe('VPTQ_PACK_TENSOR_MISMATCH');
    expect(misshapen.message).toBe(`m: tensor "${moduleName}.indices" must be I32/U32 [2, 3, 4] for this layer config (got I32 [2, 4, 3])`);
    const mistyped = attempt((name) => (name.endsWith('.weight_scale') ? { dtype: 'I16', shape: [20], data: new Uint8Array(40) } : undefined));
    expect(mistyped).toMatchObject({ code: 'VPTQ_PACK_TENSOR_MISMATCH', tensor: `${moduleName}.weight_scale` });
    const short = attempt((name) => (name.endsWith('.bias') ? { dtype: 'F16', shape: [20], data: new Uint8Array(38) } : undefined));
    expect(short.message).toMatch(/must hold 40 bytes for F16 \[20\] \(got 38\)/);
    const badPerm = attempt((name) => (name.endsWith('.perm') ? { dtype: 'I16', shape: [20], data: new Uint8Array(40) } : undefined));
    expect(badPerm).toMatchObject({ code: 'VPTQ_PACK_INDEX_RANGE', tensor: `${moduleName}.perm` });
    const outlierBytes = new Uint8Array(60).fill(0);
    outlierBytes[10] = 200;
    const badOutlier = attempt((name) => (name.endsWith('.outlier_indices') ? { dtype: 'I16', shape: [1, 5, 6], data: outlierBytes } : undefined));
    expect(badOutlier.message).toMatch(/element 5 is 200, not below the 16 outlier centroids/);
  });

  it('refuses to write tensors that disagree with the config', () => {
    const layer = buildLayer(fullConfig, 14);
    expect(() => encodeVptqLayerTensors(moduleName, fullConfig, { ...layer.tensors, bias: undefined })).toThrow(
      `encodeVptqLayerTensors: ${moduleName}.bias is required by the layer config`,
    );
    expect(() => encodeVptqLayerTensors(moduleName, { ...fullConfig, bias: false }, layer.tensors)).toThrow(/bias must be omitted/);
    expect(() => encodeVptqLayerTensors(moduleName, fullConfig, { ...layer.tensors, perm: new Uint16Array(20).fill(1) })).toThrow(/permutation/);
    expect(() => encodeVptqLayerTensors(moduleName, fullConfig, { ...layer.tensors, indices: new Uint32Array(23) })).toThrow(/must hold 24 values/);
    expect(() =>
      encodeVptqLayerTensors(moduleName, fullConfig, { ...layer.tensors, centroids: { dtype: 'F16', data: new Float32Array(4096) as never } }),
    ).toThrow(TypeError);
  });
});
