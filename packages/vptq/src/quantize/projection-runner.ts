import type { DeviceMatrix, PreparedHessian } from '@vptq/hessian';
import type { LinearSpec, ModelSource } from '@vptq/loader';
import type { SafetensorsTensorInput } from '@vptq/pack-format/safetensors';

import type { HessianGroup, LayerHessians } from './calibration-stream';
import { isOnDevice, releaseHessian } from './calibration-stream';
import type { ProjectionSummary } from './layer-store';
import { releasePrepared } from './quantize-backend';
import type { QuantizeBackend } from './quantize-backend';
import { quantizeLinear } from './quantize-linear';
import type { QuantizeEvent, QuantizePhase } from './quantize-options';
import { deriveSeed } from './quantize-settings';
import type { ResolvedSettings } from './quantize-settings';

/** The quantized projections of one decoder layer, in `listLinearSpecs` order. */
export interface LayerProjections {
  /** Every tensor of the layer's projections, with their final names. */
  readonly tensors: SafetensorsTensorInput[];
  readonly projections: ProjectionSummary[];
  /**
   * `<prefix>.weight` → `[out, in]` f32 weight the output model computes with, where the runner has it at hand;
   * otherwise the layer loop dequantizes the tensors (as a resumed run does).
   */
  readonly weights?: ReadonlyMap<string, Float32Array>;
}

/** What the layer loop tells a {@link ProjectionRunner} besides the layer. */
export interface ProjectionContext {
  /** Enters a phase of the layer (for its clock and the progress events). */
  readonly phase: (name: QuantizePhase) => void;
  readonly onEvent: ((event: QuantizeEvent) => void) | undefined;
}

/**
 * How the layer loop quantizes the projections of a layer once their Hessians are collected: in this process
 * ({@link localProjectionRunner}), or as jobs on a queue that workers elsewhere take (`vptq quantize --queue`).
 */
export interface ProjectionRunner {
  /**
   * Layers whose projections may be in progress at once while the loop calibrates the next ones; only used when
   * the activations advance through the original layers (with `'quantized'` the next layer needs this one's
   * result). 1 = one layer at a time.
   */
  readonly layersInFlight: number;
  /**
   * Whether the runner takes Hessians kept on the device (`onDevice` of the calibration stream): it then prepares
   * them there and releases them. A runner that sends them elsewhere needs host ones.
   */
  readonly takesDeviceHessians: boolean;
  /** Quantizes `specs` (the layer's projections, in model order) with the layer's Hessians. */
  quantizeProjections(layer: number, specs: readonly LinearSpec[], hessians: LayerHessians, context: ProjectionContext): Promise<LayerProjections>;
  /** Called once the layer's checkpoint is written: what the runner kept for it may go. */
  layerCheckpointed?(layer: number): void;
}

/**
 * Quantizes a layer's projections here, one after another on `backend`, preparing each Hessian group once
 * (damping, column order, Cholesky factor of H⁻¹) for the projections that share it. For VPTQ on a GPU backend the
 * Hessians stay on the device from the calibration to the column loop; each group's device memory is released as
 * soon as its last projection is quantized.
 */
export function localProjectionRunner(source: ModelSource, settings: ResolvedSettings, backend: QuantizeBackend): ProjectionRunner {
  const vptq = settings.method === 'vptq';
  return {
    layersInFlight: 1,
    takesDeviceHessians: vptq,
    async quantizeProjections(layer, specs, hessians, { phase, onEvent }) {
      const prepared = new Map<HessianGroup, PreparedHessian<Float64Array | DeviceMatrix>>();
      const tensors: SafetensorsTensorInput[] = [];
      const projections: ProjectionSummary[] = [];
      const weights = new Map<string, Float32Array>();
      const lastUse = new Map<HessianGroup, number>();
      specs.forEach((spec, index) => lastUse.set(spec.input, index));
      try {
        for (const [index, spec] of specs.entries()) {
          const hessian = hessians[spec.input];
          let groupPrepared = prepared.get(spec.input);
          if (!groupPrepared) {
            phase('prepare');
            if (vptq) {
              groupPrepared = await backend.prepareVptqHessian(hessian, prepareOptions(settings));
              // The raw E[xxᵀ] is not read again.
              releaseHessian(hessian);
            } else {
              if (isOnDevice(hessian)) throw new TypeError(`quantize: the ${settings.method} baseline needs host Hessians`);
              groupPrepared = await backend.prepareHessian(hessian, prepareOptions(settings));
            }
            prepared.set(spec.input, groupPrepared);
          }
          phase('quantize');
          const result = await quantizeLinear({
            spec,
            weight: source.readTensor(`${spec.prefix}.weight`),
            bias: spec.bias ? source.readTensor(`${spec.prefix}.bias`) : undefined,
            prepared: groupPrepared,
            hessian: isOnDevice(hessian) ? undefined : hessian,
            method: settings.method,
            bits: settings.bits,
            vptq: settings.vptq,
            dtype: settings.dtype,
            seed: deriveSeed(settings.seed, layer, spec.name),
            backend,
            onProgress: (name, fraction) => onEvent?.({ type: 'linear', layer, name: spec.prefix, phase: name, fraction }),
          });
          tensors.push(...result.tensors);
          projections.push(result.summary);
          // Only the activations that advance through the quantized layers read them.
          if (settings.advanceThrough === 'quantized') weights.set(`${spec.prefix}.weight`, result.weight);
          if (lastUse.get(spec.input) === index) {
            releasePrepared(groupPrepared);
            prepared.delete(spec.input);
          }
        }
        return { tensors, projections, weights: settings.advanceThrough === 'quantized' ? weights : undefined };
      } finally {
        for (const groupPrepared of prepared.values()) releasePrepared(groupPrepared);
        for (const hessian of Object.values(hessians)) releaseHessian(hessian);
      }
    },
  };
}

/** The Hessian preparation every projection of a run gets: damping, and the column order of the method. */
export function prepareOptions(settings: ResolvedSettings): { damp: number; inverseDamp: number; order: 'identity' | 'diag-desc' } {
  return {
    damp: settings.damp,
    inverseDamp: settings.damp,
    order: settings.method === 'rtn' || !settings.vptq.enablePerm ? 'identity' : 'diag-desc',
  };
}
