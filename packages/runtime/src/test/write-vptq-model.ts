import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { listLinearSpecs, llamaConfigToHfJson } from '@vptq/loader';
import { openHfModel } from '@vptq/loader/node';
import { randomPermutation } from '@vptq/kmeans';
import type { LinearName, ModelSource } from '@vptq/loader';
import { encodeVptqLayerTensors, packIndices, toVptqLayerConfigJson } from '@vptq/pack-format';
import { encodeSafetensors, f16BitsToF32, f32ToF16Bits } from '@vptq/pack-format/safetensors';
import type { FloatTensor, VptqLayerConfig, VptqLayerTensors } from '@vptq/pack-format';
import type { SafetensorsTensorInput } from '@vptq/pack-format/safetensors';
import { createTestRng } from '@vptq/test-utils';

/** The layout a projection is quantized with (test fixture; every packed-format feature appears somewhere). */
export interface FixtureLayout {
  readonly vectorLength: number;
  readonly numCentroids: number;
  /** Kr, or 0 for none. */
  readonly numResidualCentroids: number;
  readonly groupNum: number;
  /** O outlier columns (0 for none), with vectors of `outlierVectorLength` rows and `numOutlierCentroids` entries. */
  readonly outlierSize: number;
  readonly outlierVectorLength: number;
  readonly numOutlierCentroids: number;
}

/** Default layouts: attention v4 k256 (2 bits); MLP gate/up add a residual codebook, two groups and outliers. */
export function fixtureLayout(projection: LinearName): FixtureLayout {
  const plain = { vectorLength: 4, numCentroids: 256, numResidualCentroids: 0, groupNum: 1, outlierSize: 0, outlierVectorLength: 0, numOutlierCentroids: 0 };
  if (projection === 'gate_proj' || projection === 'up_proj') {
    return { ...plain, numResidualCentroids: 16, groupNum: 2, outlierSize: 4, outlierVectorLength: 2, numOutlierCentroids: 16 };
  }
  return plain;
}

/**
 * Test fixture: quantizes every decoder projection of a Hugging Face Llama directory into a VPTQ packed
 * directory (config.json with `quantization_config`, model.safetensors), with per-column norm, a seeded
 * column permutation, and codebooks fit by a few seeded Lloyd iterations per group: a small but honest
 * stand-in for the real quantizer, so that the same packed model can run on the CPU (dequantized by the
 * loader) and on the GPU (fused kernels). Codebooks and norms are stored as F16, other tensors as F32; a
 * projection's bias (where the architecture gives one, see `decoderLinears`) is kept exactly, as an F32 part of
 * its layer.
 */
export function writeVptqModelFixture(hfDir: string, outDir: string, options: { readonly seed?: number } = {}): void {
  const source = openHfModel(hfDir);
  const random = createTestRng(options.seed ?? 7);
  try {
    const json = JSON.parse(readFileSync(join(hfDir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const entries: SafetensorsTensorInput[] = [];
    const configForLayers: Record<string, unknown> = {};
    const specs = listLinearSpecs(source.config);
    const byWeight = new Map(specs.map((spec) => [`${spec.prefix}.weight`, spec]));
    const biases = new Set(specs.filter((spec) => spec.bias).map((spec) => `${spec.prefix}.bias`));
    for (const info of source.tensors) {
      if (biases.has(info.name)) continue;
      const values = source.readTensor(info.name);
      const spec = byWeight.get(info.name);
      if (!spec) {
        entries.push({ name: info.name, dtype: 'F32', shape: info.shape, data: values });
        continue;
      }
      const { config, tensors } = quantize(values, spec.outFeatures, spec.inFeatures, fixtureLayout(spec.name), random);
      const bias = spec.bias ? { dtype: 'F32' as const, data: source.readTensor(`${spec.prefix}.bias`) } : undefined;
      const layer = { config: { ...config, bias: spec.bias }, tensors: { ...tensors, bias } };
      configForLayers[spec.prefix] = toVptqLayerConfigJson(layer.config);
      entries.push(...encodeVptqLayerTensors(spec.prefix, layer.config, layer.tensors));
    }
    mkdirSync(outDir, { recursive: true });
    json.quantization_config = { quant_method: 'vptq', config_for_layers: configForLayers };
    writeFileSync(join(outDir, 'config.json'), JSON.stringify(json, null, 2));
    writeFileSync(join(outDir, 'model.safetensors'), Buffer.concat(encodeSafetensors(entries, { format: 'pt' })));
  } finally {
    source.close();
  }
}

function quantize(
  weight: Float32Array,
  outFeatures: number,
  inFeatures: number,
  layout: FixtureLayout,
  random: () => number,
): { config: VptqLayerConfig; tensors: VptqLayerTensors } {
  const { vectorLength: v, groupNum: groups, outlierSize } = layout;
  const groupSize = (inFeatures - outlierSize) / groups;
  const config: VptqLayerConfig = {
    inFeatures,
    outFeatures,
    vectorLength: v,
    numCentroids: layout.numCentroids,
    numResidualCentroids: layout.numResidualCentroids,
    outlierVectorLength: layout.outlierSize > 0 ? layout.outlierVectorLength : 0,
    numOutlierCentroids: layout.outlierSize > 0 ? layout.numOutlierCentroids : 0,
    groupNum: groups,
    groupSize,
    outlierSize,
    enableNorm: true,
    enablePerm: true,
    indicesAsFloat: false,
    bias: false,
  };

  // Per-column norm (mean and spread, stored F16), so the codebooks see unit-scale columns.
  const scale = new Float32Array(inFeatures);
  const shift = new Float32Array(inFeatures);
  for (let c = 0; c < inFeatures; c++) {
    let sum = 0;
    let squares = 0;
    for (let o = 0; o < outFeatures; o++) {
      sum += weight[o * inFeatures + c];
      squares += weight[o * inFeatures + c] ** 2;
    }
    const mean = sum / outFeatures;
    shift[c] = roundF16(mean);
    scale[c] = roundF16(Math.sqrt(Math.max(squares / outFeatures - mean * mean, 1e-8)));
  }
  const perm = Uint16Array.from(randomPermutation(inFeatures, random));
  const normalized = (o: number, p: number): number => {
    const c = perm[p];
    return o < outFeatures ? (weight[o * inFeatures + c] - shift[c]) / scale[c] : 0;
  };
  // Points of one part: one vector of `length` consecutive output rows per (vector-row, position).
  const points = (length: number, positions: readonly number[]): Float32Array => {
    const rows = Math.ceil(outFeatures / length);
    const data = new Float32Array(rows * positions.length * length);
    for (let r = 0; r < rows; r++) {
      positions.forEach((p, s) => {
        for (let j = 0; j < length; j++) data[(r * positions.length + s) * length + j] = normalized(r * length + j, p);
      });
    }
    return data;
  };

  const rows = Math.ceil(outFeatures / v);
  const main = new Uint32Array(groups * rows * groupSize);
  const residual = layout.numResidualCentroids > 0 ? new Uint32Array(groups * rows * groupSize) : undefined;
  const centroids = new Float32Array(groups * layout.numCentroids * v);
  const residualCentroids = residual ? new Float32Array(groups * layout.numResidualCentroids * v) : undefined;
  for (let g = 0; g < groups; g++) {
    const positions = Array.from({ length: groupSize }, (_, s) => outlierSize + g * groupSize + s);
    const data = points(v, positions);
    const fit = fitCodebook(data, v, layout.numCentroids, random);
    centroids.set(fit.codebook, g * layout.numCentroids * v);
    main.set(fit.assignment, g * rows * groupSize);
    if (residual && residualCentroids) {
      const remainder = data.map((value, index) => value - fit.codebook[fit.assignment[Math.floor(index / v)] * v + (index % v)]);
      const second = fitCodebook(remainder, v, layout.numResidualCentroids, random);
      residualCentroids.set(second.codebook, g * layout.numResidualCentroids * v);
      residual.set(second.assignment, g * rows * groupSize);
    }
  }
  const tensors: { -readonly [K in keyof VptqLayerTensors]: VptqLayerTensors[K] } = {
    centroids: f16Tensor(centroids),
    indices: packIndices({
      groupNum: groups,
      vectorRows: rows,
      groupSize,
      indexBits: Math.log2(layout.numCentroids),
      residualBits: residual ? Math.log2(layout.numResidualCentroids) : 0,
      main,
      residual,
    }),
    perm,
    weightScale: f16Tensor(scale),
    weightBias: f16Tensor(shift),
  };
  if (residualCentroids) tensors.residualCentroids = f16Tensor(residualCentroids);
  if (outlierSize > 0) {
    const fit = fitCodebook(points(layout.outlierVectorLength, Array.from({ length: outlierSize }, (_, p) => p)), layout.outlierVectorLength, layout.numOutlierCentroids, random);
    tensors.outlierCentroids = f16Tensor(fit.codebook);
    tensors.outlierIndices = Uint16Array.from(fit.assignment);
  }
  return { config, tensors };
}

/** A few Lloyd iterations from seeded random points; returns F16-rounded centroids and the final assignment. */
function fitCodebook(data: Float32Array, dim: number, count: number, random: () => number): { codebook: Float32Array; assignment: Uint32Array } {
  const n = data.length / dim;
  const codebook = new Float32Array(count * dim);
  for (let k = 0; k < count; k++) {
    const source = Math.floor(random() * n);
    for (let j = 0; j < dim; j++) codebook[k * dim + j] = data[source * dim + j] + (random() - 0.5) * 1e-3;
  }
  const assignment = new Uint32Array(n);
  const assign = (): void => {
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestDistance = Infinity;
      for (let k = 0; k < count; k++) {
        let distance = 0;
        for (let j = 0; j < dim; j++) distance += (data[i * dim + j] - codebook[k * dim + j]) ** 2;
        if (distance < bestDistance) {
          bestDistance = distance;
          best = k;
        }
      }
      assignment[i] = best;
    }
  };
  for (let iteration = 0; iteration < 4; iteration++) {
    assign();
    const sums = new Float64Array(count * dim);
    const sizes = new Uint32Array(count);
    for (let i = 0; i < n; i++) {
      sizes[assignment[i]]++;
      for (let j = 0; j < dim; j++) sums[assignment[i] * dim + j] += data[i * dim + j];
    }
    for (let k = 0; k < count; k++) if (sizes[k] > 0) for (let j = 0; j < dim; j++) codebook[k * dim + j] = sums[k * dim + j] / sizes[k];
  }
  for (let i = 0; i < codebook.length; i++) codebook[i] = roundF16(codebook[i]);
  assign();
  return { codebook, assignment };
}

function roundF16(value: number): number {
  return f16BitsToF32(f32ToF16Bits(value));
}

function f16Tensor(values: Float32Array): FloatTensor {
  return { dtype: 'F16', data: Uint16Array.from(values, f32ToF16Bits) };
}

/**
 * Test fixture: writes an in-memory model (e.g. `createSyntheticSource`) as a Hugging Face Llama directory
 * with F32 tensors, so that it can be quantized by {@link writeVptqModelFixture}. The HF reader assumes the
 * rotate-half RoPE layout whatever the source used. `configJson`, when given, is written as config.json in place
 * of `llamaConfigToHfJson(source.config)` (a published config at the source's sizes, say).
 */
export function writeHfModelFixture(source: ModelSource, outDir: string, configJson?: Record<string, unknown>): void {
  const { config } = source;
  mkdirSync(outDir, { recursive: true });
  const json = configJson ?? llamaConfigToHfJson(config);
  writeFileSync(join(outDir, 'config.json'), JSON.stringify(json, null, 2));
  const matrices = new Map<string, readonly number[]>(listLinearSpecs(config).map((spec) => [`${spec.prefix}.weight`, [spec.outFeatures, spec.inFeatures]]));
  for (const name of ['model.embed_tokens.weight', 'lm_head.weight']) matrices.set(name, [config.vocabSize, config.hiddenSize]);
  const entries: SafetensorsTensorInput[] = source.tensors.map((info) => {
    const data = source.readTensor(info.name);
    return { name: info.name, dtype: 'F32', shape: matrices.get(info.name) ?? [data.length], data };
  });
  writeFileSync(join(outDir, 'model.safetensors'), Buffer.concat(encodeSafetensors(entries, { format: 'pt' })));
}
