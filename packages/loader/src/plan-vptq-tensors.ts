import { findVptqLayerConfig, getVptqLayerTensorSpecs } from '@vptq/pack-format';
import type { VptqLayerConfig, VptqLayerTensorSpec, VptqQuantizationConfig } from '@vptq/pack-format';
import type { SafetensorsDtype } from '@vptq/pack-format/safetensors';

import { checkFloatTensor, sameShape } from './check-float-tensor';
import type { DeclaredQuantization } from './find-declared-quantization';
import { listLinearSpecs } from './decoder-linears';
import type { LinearSpec } from './decoder-linears';
import { requiredHfTensors } from './hf-tensor-layout';
import { LoaderError } from './loader-error';
import type { LlamaConfig, TensorInfo } from './model-types';
import { moduleConfigField } from './read-vptq-quantization';
import type { LocatedTensor } from './safetensors-files';

/** One quantized projection as planned at open time. */
export interface PlannedVptqLayer {
  readonly linear: LinearSpec;
  /** The layer config with `bias` taken from the architecture. */
  readonly config: VptqLayerConfig;
  /** The stored tensors it requires (spec §5.2), each found with the right dtype and shape. */
  readonly specs: readonly VptqLayerTensorSpec[];
  /** Where its config came from, e.g. `quantization_config.shared_layer_config["q_proj"]`. */
  readonly configField: string;
}

/** What {@link planVptqTensors} found: the quantized layers and the tensors a caller sees. */
export interface VptqTensorPlan {
  /** Quantized layers by module name, in model order. */
  readonly layers: ReadonlyMap<string, PlannedVptqLayer>;
  /** The logical tensor list: `<module>.weight` F32 `[out, in]` per quantized layer, stored tensors otherwise. */
  readonly tensors: readonly TensorInfo[];
  /** Stored tensors that are packed parts of a quantized layer (hidden from `tensors`), with their layer. */
  readonly packedOwner: ReadonlyMap<string, string>;
}

/**
 * Matches a VPTQ directory's stored tensors against its architecture and quantization config, from the headers
 * alone. A decoder projection the config covers must hold every packed tensor its layer config implies, with an
 * accepted dtype and the derived shape, and no plain `<module>.weight`; every other required tensor must be a
 * plain F32/F16/BF16 tensor of its architectural shape.
 *
 * @throws {LoaderError} VPTQ_LOADER_BAD_CONFIG (layer config vs architecture, plain weights under a layer
 * config), VPTQ_LOADER_UNKNOWN_TENSOR, VPTQ_LOADER_UNSUPPORTED_DTYPE, VPTQ_LOADER_SHAPE_MISMATCH,
 * VPTQ_LOADER_BAD_SAFETENSORS (both plain and packed tensors for one module).
 */
export function planVptqTensors(
  fn: string,
  configPath: string,
  config: LlamaConfig,
  declared: DeclaredQuantization,
  quantization: VptqQuantizationConfig,
  stored: readonly LocatedTensor[],
  weightsPath: string,
): VptqTensorPlan {
  const byName = new Map(stored.map((tensor) => [tensor.info.name, tensor]));
  const layers = new Map<string, PlannedVptqLayer>();
  const packedOwner = new Map<string, string>();
  for (const linear of listLinearSpecs(config)) {
    const found = findVptqLayerConfig(quantization, linear.prefix);
    if (found === undefined) continue;
    const configField = moduleConfigField(declared, quantization, linear.prefix);
    for (const [key, expected, actual] of [
      ['in_features', linear.inFeatures, found.inFeatures],
      ['out_features', linear.outFeatures, found.outFeatures],
    ] as const) {
      if (actual !== expected) {
        throw new LoaderError(
          'VPTQ_LOADER_BAD_CONFIG',
          `${fn}: ${configPath}: ${configField}.${key} is ${actual}, but ${linear.prefix} is ${linear.outFeatures} × ${linear.inFeatures} in this architecture`,
          { path: configPath, tensor: linear.prefix, field: `${configField}.${key}` },
        );
      }
    }
    // transformers builds VQuantLinear with bias=module.bias is not None, whatever the config's `bias` says.
    const layerConfig: VptqLayerConfig = { ...found, bias: linear.bias };
    const specs = getVptqLayerTensorSpecs(layerConfig);
    const packed = specs.filter((spec) => spec.key !== 'bias');
    const plain = byName.get(`${linear.prefix}.weight`);
    const present = packed.filter((spec) => byName.has(`${linear.prefix}.${spec.suffix}`));
    if (plain !== undefined && present.length === 0) {
      throw new LoaderError(
        'VPTQ_LOADER_BAD_CONFIG',
        `${fn}: ${configPath}: ${configField} quantizes ${linear.prefix}, but ${plain.file.path} holds a plain ${linear.prefix}.weight instead of its packed VPTQ tensors (${packed.map((spec) => spec.suffix).join(', ')})`,
        { path: configPath, tensor: linear.prefix, field: configField },
      );
    }
    if (plain !== undefined) {
      throw new LoaderError(
        'VPTQ_LOADER_BAD_SAFETENSORS',
        `${fn}: ${plain.file.path}: ${linear.prefix} has both a plain ${linear.prefix}.weight and packed VPTQ tensors; a module is either quantized or not`,
        { path: plain.file.path, tensor: `${linear.prefix}.weight` },
      );
    }
    for (const spec of specs) {
      const name = `${linear.prefix}.${spec.suffix}`;
      const located = byName.get(name);
      const dtypes = acceptedDtypes(spec, layerConfig);
      const described = `${dtypes.join('/')} [${spec.shape.join(', ')}]`;
      if (located === undefined) {
        throw new LoaderError(
          'VPTQ_LOADER_UNKNOWN_TENSOR',
          `${fn}: ${weightsPath}: tensor ${name} (${described}) of VPTQ layer ${linear.prefix} is missing; ${configField} requires it`,
          { path: weightsPath, tensor: name, field: configField },
        );
      }
      const { info, file } = located;
      if (!dtypes.includes(info.dtype)) {
        throw new LoaderError(
          'VPTQ_LOADER_UNSUPPORTED_DTYPE',
          `${fn}: ${file.path}: tensor ${name} has dtype ${info.dtype}; ${configField} implies ${described}`,
          { path: file.path, tensor: name, field: configField },
        );
      }
      if (!sameShape(info.shape, spec.shape)) {
        throw new LoaderError(
          'VPTQ_LOADER_SHAPE_MISMATCH',
          `${fn}: ${file.path}: tensor ${name} has shape [${info.shape.join(', ')}] but ${configField} implies [${spec.shape.join(', ')}] (${describeLayer(layerConfig)})`,
          { path: file.path, tensor: name, field: configField },
        );
      }
      if (spec.key !== 'bias') packedOwner.set(name, linear.prefix);
    }
    layers.set(linear.prefix, { linear, config: layerConfig, specs, configField });
  }

  for (const [name, shape] of requiredHfTensors(config)) {
    const module = name.slice(0, name.lastIndexOf('.'));
    if (layers.has(module)) continue;
    // Packed tensors without a layer config are the likeliest cause of a missing plain weight: say so.
    const strayPacked = name.endsWith('.weight') && byName.has(`${module}.indices`);
    const hint = strayPacked
      ? `; the files hold packed VPTQ tensors for ${module}, but ${declared.field} has no layer config for it (config_for_layers["${module}"] or shared_layer_config["${module.slice(module.lastIndexOf('.') + 1)}"])`
      : '';
    checkFloatTensor(fn, weightsPath, name, shape, byName.get(name), hint);
  }

  const tensors: TensorInfo[] = [];
  const listed = new Set<string>();
  for (const { info } of stored) {
    const module = owningLayer(info.name, layers);
    if (module === undefined || (info.name === `${module}.bias` && layers.get(module)?.config.bias)) {
      tensors.push({ name: info.name, dtype: info.dtype, shape: info.shape });
      continue;
    }
    // A quantized layer appears once, as its dense weight, where its first stored tensor is; strays such as
    // a legacy `res_indices` are not part of the model.
    const weight = `${module}.weight`;
    if (!listed.has(module)) {
      listed.add(module);
      const { linear } = layers.get(module) as PlannedVptqLayer;
      tensors.push({ name: weight, dtype: 'F32', shape: [linear.outFeatures, linear.inFeatures] });
    }
    if (!packedOwner.has(info.name)) packedOwner.set(info.name, module);
  }
  return { layers, tensors, packedOwner };
}

/** The dtypes `@vptq/pack-format`'s `readVptqLayerTensors` accepts for a tensor (spec §5.2). */
function acceptedDtypes(spec: VptqLayerTensorSpec, config: VptqLayerConfig): readonly SafetensorsDtype[] {
  switch (spec.key) {
    case 'indices':
      return ['I32', 'U32'];
    case 'outlierIndices':
      return config.indicesAsFloat ? ['F16'] : ['I16', 'U16'];
    case 'perm':
      return ['I16', 'U16', 'I64'];
    default:
      return ['F16', 'BF16', 'F32'];
  }
}

/** The quantized layer whose module name prefixes `name`, if any. */
function owningLayer(name: string, layers: ReadonlyMap<string, PlannedVptqLayer>): string | undefined {
  for (let end = name.lastIndexOf('.'); end > 0; end = name.lastIndexOf('.', end - 1)) {
    const prefix = name.slice(0, end);
    if (layers.has(prefix)) return prefix;
  }
  return undefined;
}

function describeLayer(config: VptqLayerConfig): string {
  return `in ${config.inFeatures}, out ${config.outFeatures}, v ${config.vectorLength}, K ${config.numCentroids}, Kr ${config.numResidualCentroids}, G ${config.groupNum}, S ${config.groupSize}, O ${config.outlierSize}`;
}
