import { join } from 'node:path';

import { dequantizeVptqLayer, PackFormatError, readVptqLayerTensors } from '@vptq/pack-format';
import type { FloatTensor, PackedVptqLayer, StoredTensor, VptqLayerTensors } from '@vptq/pack-format';

import { assertFinite, closeFile, readExact } from './file-range';
import { findDeclaredQuantization } from './find-declared-quantization';
import { LoaderError } from './loader-error';
import { loaderErrorFromPackFormat } from './loader-error-from-pack-format';
import { parseHfConfig } from './parse-hf-config';
import { planVptqTensors } from './plan-vptq-tensors';
import type { PlannedVptqLayer } from './plan-vptq-tensors';
import { readFloatTensor } from './read-float-tensor';
import { readJsonObject } from './read-json-file';
import { readVptqQuantization } from './read-vptq-quantization';
import { openSafetensorsFiles } from './safetensors-files';
import type { LocatedTensor } from './safetensors-files';
import type { VptqModelSource } from './vptq-model-source';

const fn = 'openVptqModel';

/**
 * Opens a VPTQ packed model directory (spec §5), as published by `VPTQ-community` or written by this project,
 * for lazy reading: config.json with a Llama/Mistral/Qwen2 architecture (`ropeLayout: 'half'`) and a VPTQ
 * quantization config (`quantization_config` with `quant_method: "vptq"`, `text_config.quantization_config`, or
 * the legacy flat `quant_config`), plus `model.safetensors` or the shards of `model.safetensors.index.json`.
 *
 * Each decoder projection (`q/k/v/o_proj`, `gate/up/down_proj`) is quantized when the config has a layer config
 * for it: its full module name in `config_for_layers`, else its last name component in `shared_layer_config`.
 * Its packed tensors are then checked against that config when opening (dtypes and derived shapes, spec §5.2),
 * and it appears in `tensors` as `<module>.weight`, `F32` `[out, in]`, which `readTensor` dequantizes (spec §5.4)
 * on each call. Layer biases pass through as `<module>.bias`; embeddings, norms and `lm_head` are read as in
 * {@link openHfModel}. A layer's packed form is read with `readQuantizedLayer`.
 *
 * @param dir - The model directory.
 * @returns A VptqModelSource with `format: 'vptq'`; call `close()` when done.
 * @throws {LoaderError} VPTQ_LOADER_NOT_FOUND, VPTQ_LOADER_BAD_CONFIG (architecture fields; a missing or
 * non-VPTQ quantization config; a layer config that is malformed or invalid — K not a power of two,
 * `outlier_size + group_num · group_size != in_features`, tb > 32, `is_indice_packed: false` — or that disagrees
 * with the architecture, or covers a module stored as a plain weight), VPTQ_LOADER_BAD_SAFETENSORS /
 * VPTQ_LOADER_TRUNCATED (headers, index), VPTQ_LOADER_UNKNOWN_TENSOR (a missing packed or plain tensor),
 * VPTQ_LOADER_UNSUPPORTED_DTYPE, VPTQ_LOADER_SHAPE_MISMATCH; each names the file and the layer, tensor or field.
 * Reads add VPTQ_LOADER_NOT_FINITE, VPTQ_LOADER_INDEX_RANGE and VPTQ_LOADER_CLOSED.
 */
export function openVptqModel(dir: string): VptqModelSource {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new TypeError(`openVptqModel: dir must be a non-empty string (got ${String(dir)})`);
  }
  const configPath = join(dir, 'config.json');
  const json = readJsonObject(fn, configPath, 'VPTQ_LOADER_BAD_CONFIG', false) as Record<string, unknown>;
  const declared = findDeclaredQuantization(json);
  if (declared === undefined || declared.method !== 'vptq') {
    const detail =
      declared === undefined
        ? 'is missing, so the weights are not VPTQ-packed (open unquantized models with openHfModel or openModel)'
        : `must have quant_method "vptq" (got ${JSON.stringify(declared.method) ?? 'nothing'})`;
    const field = declared?.field ?? 'quantization_config';
    throw new LoaderError('VPTQ_LOADER_BAD_CONFIG', `${fn}: ${configPath}: ${field} ${detail}`, { path: configPath, field });
  }
  const config = parseHfConfig(fn, configPath, json, { allowVptq: true });
  const quantization = readVptqQuantization(fn, configPath, json, declared);
  const { files, tensors: stored, weightsPath } = openSafetensorsFiles(fn, dir);
  let plan: ReturnType<typeof planVptqTensors>;
  try {
    plan = planVptqTensors(fn, configPath, config, declared, quantization, stored, weightsPath);
  } catch (error) {
    for (const file of files) closeFile(file);
    throw error;
  }

  const byName = new Map(stored.map((tensor) => [tensor.info.name, tensor]));
  const listed = new Set(plan.tensors.map((tensor) => tensor.name));
  let open = true;
  const assertOpen = (reader: string, name: string): void => {
    if (!open) throw new LoaderError('VPTQ_LOADER_CLOSED', `${reader}: ${dir} was closed before reading ${name}`, { path: dir, tensor: name });
  };

  const readLayer = (reader: string, layer: PlannedVptqLayer): PackedVptqLayer => {
    const module = layer.linear.prefix;
    assertOpen(reader, module);
    const home = byName.get(`${module}.indices`) as LocatedTensor;
    const lookup = (name: string): StoredTensor | undefined => {
      const located = byName.get(name);
      if (located === undefined) return undefined;
      const data = new Uint8Array(located.info.byteLength);
      readExact(reader, located.file, data, located.info.byteOffset, { tensor: name });
      return { dtype: located.info.dtype, shape: located.info.shape, data };
    };
    let tensors: VptqLayerTensors;
    try {
      tensors = readVptqLayerTensors(module, layer.config, lookup, home.file.path);
    } catch (error) {
      if (!(error instanceof PackFormatError)) throw error;
      const path = (error.tensor !== undefined ? byName.get(error.tensor)?.file.path : undefined) ?? home.file.path;
      throw loaderErrorFromPackFormat(reader, path, error, { field: layer.configField });
    }
    for (const spec of layer.specs) {
      const value = tensors[spec.key];
      if (value !== undefined && typeof value === 'object' && 'dtype' in value) {
        const name = `${module}.${spec.suffix}`;
        assertFiniteFloat(reader, byName.get(name)?.file.path ?? home.file.path, name, value);
      }
    }
    return { config: layer.config, tensors };
  };

  const layerOf = (reader: string, name: string): PlannedVptqLayer => {
    const layer = plan.layers.get(name);
    if (layer !== undefined) return layer;
    const hint = plan.layers.has(name.replace(/\.weight$/, ''))
      ? `; pass the module name ${name.replace(/\.weight$/, '')}`
      : plan.layers.size === 0
        ? '; the quantization config covers none of its projections'
        : ` (quantized layers: ${[...plan.layers.keys()].slice(0, 3).join(', ')}${plan.layers.size > 3 ? ', …' : ''})`;
    throw new LoaderError('VPTQ_LOADER_UNKNOWN_TENSOR', `${reader}: ${dir} has no VPTQ-quantized layer ${name}${hint}`, {
      path: dir,
      tensor: name,
    });
  };

  return {
    path: dir,
    format: 'vptq',
    config,
    tensors: plan.tensors,
    quantizedLayers: [...plan.layers.values()].map((layer) => ({ name: layer.linear.prefix, config: layer.config })),
    readTensor(name: string): Float32Array {
      if (!listed.has(name)) {
        const owner = plan.packedOwner.get(name);
        const hint = owner === undefined ? '' : `; it is stored as part of the VPTQ layer ${owner}: use readQuantizedLayer("${owner}")`;
        throw new LoaderError('VPTQ_LOADER_UNKNOWN_TENSOR', `readTensor: ${dir} has no tensor ${name}${hint}`, { path: dir, tensor: name });
      }
      const layer = name.endsWith('.weight') ? plan.layers.get(name.slice(0, -'.weight'.length)) : undefined;
      if (layer === undefined) {
        assertOpen('readTensor', name);
        return readFloatTensor('readTensor', byName.get(name) as LocatedTensor);
      }
      const weight = dequantizeVptqLayer(readLayer('readTensor', layer));
      // Finite codebooks can still sum past the f32 range (BF16 entries near 3e38).
      assertFinite('readTensor', (byName.get(`${layer.linear.prefix}.indices`) as LocatedTensor).file.path, name, weight);
      return weight;
    },
    readQuantizedLayer(name: string): PackedVptqLayer {
      return readLayer('readQuantizedLayer', layerOf('readQuantizedLayer', name));
    },
    close(): void {
      if (!open) return;
      open = false;
      for (const file of files) closeFile(file);
    },
  };
}

/** NaN/±Inf in a codebook, norm or bias poisons every weight built from it: report it by tensor. */
function assertFiniteFloat(reader: string, path: string, name: string, tensor: FloatTensor): void {
  if (tensor.dtype === 'F32') {
    assertFinite(reader, path, name, tensor.data);
    return;
  }
  // All-ones exponent: 5 bits at 10..14 for F16, 8 bits at 7..14 for BF16.
  const mask = tensor.dtype === 'F16' ? 0x7c00 : 0x7f80;
  const bad = tensor.data.findIndex((bits) => (bits & mask) === mask);
  if (bad >= 0) {
    throw new LoaderError(
      'VPTQ_LOADER_NOT_FINITE',
      `${reader}: ${path}: tensor ${name} holds a ${tensor.dtype} NaN or ±Infinity (bits 0x${tensor.data[bad].toString(16)}) at element ${bad}; weights must be finite`,
      { path, tensor: name },
    );
  }
}
