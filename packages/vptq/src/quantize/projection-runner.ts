import type { DeviceMatrix, PreparedHessian } from '@vptq/hessian';
import type { LinearSpec, ModelSource } from '@vptq/loader';
import type { SafetensorsTensorInput } from '@vptq/pack-format/safetensors';

import type { HessianGroup, LayerHessians } from './calibration-stream';
import { isOnDevice, releaseHessian } from './calibration-stream';
import type { ProjectionSummary } from './layer-store';
import { releasePrepared } from './quantize-backend';
import type { QuantizeBackend } from './quantize-backend';
import { quantizeLinear } from './quantize-linear';
import { createTaskQueue } from './task-queue';
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
  /**
   * The `[out, in]` f32 weight `name` if the layer loop still holds it from the calibration pass (each is given
   * once, then forgotten); undefined when it must be read from the model.
   */
  readonly takeWeight?: (name: string) => Float32Array | undefined;
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
  /**
   * Whether the layers in flight run in this process (on its device): when the loop fails, it then waits for them
   * to settle before it reports (they hold device memory, and one of them may have failed first, e.g. on a lost
   * device). Otherwise the loop reports at once.
   */
  readonly waitsForLayersOnFailure?: boolean;
  /** Quantizes `specs` (the layer's projections, in model order) with the layer's Hessians. */
  quantizeProjections(layer: number, specs: readonly LinearSpec[], hessians: LayerHessians, context: ProjectionContext): Promise<LayerProjections>;
  /** Called once the layer's checkpoint is written: what the runner kept for it may go. */
  layerCheckpointed?(layer: number): void;
}

/**
 * Quantizes a layer's projections here on `backend`, `settings.projectionsInFlight` at a time (`'auto'`: two on
 * a GPU, so that one projection's host work overlaps the other's GPU work; one on the CPU), preparing each Hessian
 * group once (damping, column order, Cholesky factor of H⁻¹) for the projections that share it. Every projection
 * depends only on its weight, its group's prepared Hessian and its seed, so the bytes do not depend on the
 * interleaving; results are kept in model order. For VPTQ on a GPU backend the Hessians stay on the device from
 * the calibration to the column loop; each group's device memory is released as soon as its last projection is
 * quantized. With more than one projection in flight, two layers are: the next layer is calibrated while this
 * one's projections run, and its projections queue behind them (one queue for the run, so never more than
 * `projectionsInFlight` at once).
 */
export function localProjectionRunner(source: ModelSource, settings: ResolvedSettings, backend: QuantizeBackend): ProjectionRunner {
  const vptq = settings.method === 'vptq';
  const inFlight = projectionsInFlight(settings, backend);
  const queue = createTaskQueue(inFlight);
  return {
    layersInFlight: inFlight > 1 ? 2 : 1,
    takesDeviceHessians: vptq,
    waitsForLayersOnFailure: true,
    async quantizeProjections(layer, specs, hessians, { phase, onEvent, takeWeight }) {
      const prepared = new Map<HessianGroup, Promise<PreparedHessian<Float64Array | DeviceMatrix>>>();
      const results: Awaited<ReturnType<typeof quantizeLinear>>[] = [];
      const remaining = new Map<HessianGroup, number>();
      for (const spec of specs) remaining.set(spec.input, (remaining.get(spec.input) ?? 0) + 1);
      const prepare = (group: HessianGroup): Promise<PreparedHessian<Float64Array | DeviceMatrix>> => {
        let promise = prepared.get(group);
        if (promise === undefined) {
          const hessian = hessians[group];
          phase('prepare');
          promise = (async () => {
            if (!vptq) {
              if (isOnDevice(hessian)) throw new TypeError(`quantize: the ${settings.method} baseline needs host Hessians`);
              return backend.prepareHessian(hessian, prepareOptions(settings));
            }
            const result = await backend.prepareVptqHessian(hessian, prepareOptions(settings));
            // The raw E[xxᵀ] is not read again.
            releaseHessian(hessian);
            return result;
          })();
          prepared.set(group, promise);
        }
        return promise;
      };
      const quantizeOne = async (index: number): Promise<void> => {
        const spec = specs[index];
        const hessian = hessians[spec.input];
        const groupPrepared = await prepare(spec.input);
        phase('quantize');
        onEvent?.({ type: 'linear', layer, name: spec.prefix, phase: 'setup', fraction: 0 });
        const result = await quantizeLinear({
          spec,
          weight: takeWeight?.(`${spec.prefix}.weight`) ?? source.readTensor(`${spec.prefix}.weight`),
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
        results[index] = result;
        onEvent?.({ type: 'linear', layer, name: spec.prefix, phase: 'done', fraction: 1 });
        const left = (remaining.get(spec.input) as number) - 1;
        remaining.set(spec.input, left);
        if (left === 0) {
          releasePrepared(groupPrepared);
          prepared.delete(spec.input);
        }
      };
      // The run's queue takes the projections in model order, after those of earlier layers; after a failure none
      // of this layer's starts, and the layer waits for the ones in progress (they hold device memory that the
      // cleanup below frees) before it reports the failure.
      let failure: { error: unknown } | undefined;
      const tasks = specs.map((_, index) =>
        queue.run(async () => {
          if (failure !== undefined) return;
          try {
            await quantizeOne(index);
          } catch (error) {
            failure ??= { error };
          }
        }),
      );
      try {
        await Promise.all(tasks);
        if (failure) throw failure.error;
        return {
          tensors: results.flatMap((result) => result.tensors),
          projections: results.map((result) => result.summary),
          // Only the activations that advance through the quantized layers read them (a VPTQ weight is built when read).
          weights: settings.advanceThrough === 'quantized' ? new Map(results.map((result, index) => [`${specs[index].prefix}.weight`, result.weight])) : undefined,
        };
      } finally {
        for (const promise of prepared.values()) void promise.then(releasePrepared, () => {});
        for (const hessian of Object.values(hessians)) releaseHessian(hessian);
      }
    },
  };
}

/** How many projections the local runner quantizes at once: the setting, `'auto'` = 2 on a GPU, 1 on the CPU. */
export function projectionsInFlight(settings: Pick<ResolvedSettings, 'projectionsInFlight'>, backend: Pick<QuantizeBackend, 'kind'>): number {
  if (settings.projectionsInFlight !== 'auto') return settings.projectionsInFlight;
  return backend.kind === 'gpu' ? 2 : 1;
}

/** The Hessian preparation every projection of a run gets: damping, and the column order of the method. */
export function prepareOptions(settings: ResolvedSettings): { damp: number; inverseDamp: number; order: 'identity' | 'diag-desc' } {
  return {
    damp: settings.damp,
    inverseDamp: settings.damp,
    order: settings.method === 'rtn' || !settings.vptq.enablePerm ? 'identity' : 'diag-desc',
  };
}
