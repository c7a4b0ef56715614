import { dequantizeVptqLayer, PackFormatError, readVptqLayerTensors } from '@vptq/pack-format';
import type { FloatTensor, PackedVptqLayer, StoredTensor, VptqLayerTensors } from '@vptq/pack-format';

import { assertFinite, closeFile, firstNonFiniteHalf, readOwnedBytes } from './file-range';
import { findDeclaredQuantization } from './find-declared-quantization';
import { LoaderError } from './loader-error';
import type { Steps } from './loader-steps';
import { loaderErrorFromPackFormat } from './loader-error-from-pack-format';
import { parseHfConfig } from './parse-hf-config';
import { planVptqTensors } from './plan-vptq-tensors';
import type { PlannedVptqLayer } from './plan-vptq-tensors';
import { readFloatTensor } from './read-float-tensor';
import type { ModelFiles } from './model-files';
import { prefetchRanges } from './prefetch-ranges';
import type { ByteRange } from './prefetch-ranges';
import { readJsonSteps } from './read-json-file';
import { readVptqQuantization } from './read-vptq-quantization';
import { openSafetensorsSteps } from './safetensors-files';
import type { LocatedTensor } from './safetensors-files';
import type { VptqModelSource } from './vptq-model-source';

const fn = 'openVptqModel';

/**
 * Opens a VPTQ packed model directory (spec §5) for lazy reading from any {@link ModelFiles} (see `openVptqModel`
 * of `@vptq/loader/node` for the rules): config.json with a VPTQ quantization config, plus `model.safetensors` or
 * the shards of `model.safetensors.index.json`. Only headers are read here.
 */
export function* openVptqModelSteps(dir: ModelFiles): Steps<VptqModelSource> {
  const configPath = dir.pathOf('config.json');
  const json = (yield* readJsonSteps(fn, dir, 'config.json', 'VPTQ_LOADER_BAD_CONFIG', false)) as Record<string, unknown>;
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
  const { files, tensors: stored, weightsPath } = yield* openSafetensorsSteps(fn, dir);
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
    if (!open) throw new LoaderError('VPTQ_LOADER_CLOSED', `${reader}: ${dir.path} was closed before reading ${name}`, { path: dir.path, tensor: name });
  };

  const readLayer = (reader: string, layer: PlannedVptqLayer): PackedVptqLayer => {
    const module = layer.linear.prefix;
    assertOpen(reader, module);
    const home = byName.get(`${module}.indices`) as LocatedTensor;
    const lookup = (name: string): StoredTensor | undefined => {
      const located = byName.get(name);
      if (located === undefined) return undefined;
      const data = readOwnedBytes(reader, located.file, located.info.byteOffset, located.info.byteLength, { tensor: name });
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
    throw new LoaderError('VPTQ_LOADER_UNKNOWN_TENSOR', `${reader}: ${dir.path} has no VPTQ-quantized layer ${name}${hint}`, {
      path: dir.path,
      tensor: name,
    });
  };

  // The stored bytes behind a name: a plain tensor's own, or every stored part of a quantized layer (named by its
  // module or by its logical `<module>.weight`).
  const rangesOf = (name: string): ByteRange[] => {
    const layer = plan.layers.get(name) ?? (name.endsWith('.weight') ? plan.layers.get(name.slice(0, -'.weight'.length)) : undefined);
    if (layer !== undefined) {
      assertOpen('prefetch', name);
      return layer.specs.flatMap((spec) => {
        const located = byName.get(`${layer.linear.prefix}.${spec.suffix}`);
        return located ? [{ file: located.file, byteOffset: located.info.byteOffset, byteLength: located.info.byteLength }] : [];
      });
    }
    if (!listed.has(name)) {
      throw new LoaderError('VPTQ_LOADER_UNKNOWN_TENSOR', `prefetch: ${dir.path} has no tensor or VPTQ-quantized layer ${name}`, { path: dir.path, tensor: name });
    }
    assertOpen('prefetch', name);
    const located = byName.get(name) as LocatedTensor;
    return [{ file: located.file, byteOffset: located.info.byteOffset, byteLength: located.info.byteLength }];
  };

  return {
    path: dir.path,
    format: 'vptq',
    config,
    tensors: plan.tensors,
    quantizedLayers: [...plan.layers.values()].map((layer) => ({ name: layer.linear.prefix, config: layer.config })),
    readTensor(name: string): Float32Array {
      if (!listed.has(name)) {
        const owner = plan.packedOwner.get(name);
        const hint = owner === undefined ? '' : `; it is stored as part of the VPTQ layer ${owner}: use readQuantizedLayer("${owner}")`;
        throw new LoaderError('VPTQ_LOADER_UNKNOWN_TENSOR', `readTensor: ${dir.path} has no tensor ${name}${hint}`, { path: dir.path, tensor: name });
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
    async prefetch(names: readonly string[]): Promise<void> {
      await prefetchRanges('prefetch', files, [...names].flatMap(rangesOf));
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
  const bad = firstNonFiniteHalf(tensor.data, tensor.dtype);
  if (bad >= 0) {
    throw new LoaderError(
      'VPTQ_LOADER_NOT_FINITE',
      `${reader}: ${path}: tensor ${name} holds a ${tensor.dtype} NaN or ±Infinity (bits 0x${tensor.data[bad].toString(16)}) at element ${bad}; weights must be finite`,
      { path, tensor: name },
    );
  }
}
