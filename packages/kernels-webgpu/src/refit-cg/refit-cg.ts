import { createUniformBuffer } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, flatGrid } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { defineParams } from '../params-struct';
import { getComputePipeline } from '../pipeline-cache';
import { assertCount } from '../validate';
import { refitCgWgsl } from './refit-cg.wgsl';

const label = 'refit-cg';

/** f32 words of one column's record in `state`: ρ, stop, α, β, active, r·r, steps, r·r at the start. */
export const refitCgStateWords = 8;

/** The `Params` struct of `refitCgWgsl`, named once. */
export const refitCgParams = defineParams(label, [
  ['unknowns', 'u32'],
  ['vectorLength', 'u32'],
  ['filled', 'u32'],
  ['groups', 'u32'],
  ['toleranceSquared', 'f32'],
] as const);

/** Buffers of {@link createRefitCgSteps}; vectors are `[unknowns, vectorLength]` f32. */
export interface RefitCgBuffers {
  /** `[2, unknowns]` f32: the Jacobi preconditioner (diag + ridge) of the full, then of the cut columns. */
  readonly precondition: BufferBinding;
  /** A·p, written by the caller's product. */
  readonly product: BufferBinding;
  readonly x: BufferBinding;
  readonly residual: BufferBinding;
  /** z = P·r: written by the Jacobi stages, or by the caller's dense preconditioner. */
  readonly preconditioned: BufferBinding;
  /** p, zero before the first `direction`. */
  readonly direction: BufferBinding;
  /** `[refitCgGroups(unknowns), 2, vectorLength]` f32 scratch. */
  readonly partials: BufferBinding;
  /** `[vectorLength, refitCgStateWords]` f32. */
  readonly state: BufferBinding;
}

/** Shape of {@link createRefitCgSteps}. */
export interface RefitCgShape {
  readonly unknowns: number;
  /** v, 1–16. */
  readonly vectorLength: number;
  /** Columns j < filled use the full preconditioner, the others the cut one. */
  readonly filled: number;
  /** Stop a column once ‖r‖ ≤ tolerance·‖r₀‖. */
  readonly tolerance: number;
  /** Jacobi preconditioner (z = r / precondition) in `update`; false: the caller writes z and records `dots`. */
  readonly jacobi: boolean;
}

/** The recorded stages of {@link createRefitCgSteps}, in the order a solve encodes them. */
export interface RefitCgSteps {
  /** z = r / diag (Jacobi only). */
  readonly jacobi: KernelDispatch;
  /** The dots r·r, r·z (after z is final: preconditioned, and projected when there is a null space). */
  readonly dots: KernelDispatch;
  /** The dot p·Ap. */
  readonly curvature: KernelDispatch;
  /** Starts every column from the dots. */
  readonly start: KernelDispatch;
  /** α from p·Ap. */
  readonly step: KernelDispatch;
  /** x += α·p, r −= α·Ap (with Jacobi, also z = r / diag). */
  readonly update: KernelDispatch;
  /** Stop test and β from the dots. */
  readonly next: KernelDispatch;
  /** p = z + β·p. */
  readonly direction: KernelDispatch;
  destroy(): void;
}

/** Workgroups (and `[2, v]` partial records) of the per-row stages: one per 256 rows. */
export function refitCgGroups(unknowns: number): number {
  return Math.ceil(unknowns / 256);
}

/**
 * Records the vector stages of the refit's preconditioned conjugate gradients (see `refitCgWgsl`). A solve encodes:
 * clear p; r = b − A·x (the caller); `jacobi` (or the caller's z); the caller's projection of z, if any; `dots`;
 * `start`; `direction`; then per iteration A·p (the caller), `curvature`, `step`, `update` (then the caller's z
 * without Jacobi), the projection, `dots`, `next`, `direction`.
 *
 * @throws {RangeError} naming the field when a size or the tolerance is invalid, or the grid exceeds the device limit.
 */
export async function createRefitCgSteps(device: GPUDevice, buffers: RefitCgBuffers, shape: RefitCgShape): Promise<RefitCgSteps> {
  const fn = 'createRefitCgSteps';
  const unknowns = assertCount(fn, 'shape.unknowns', shape.unknowns);
  const vectorLength = assertCount(fn, 'shape.vectorLength', shape.vectorLength, 1, 16);
  const filled = assertCount(fn, 'shape.filled', shape.filled, 1, vectorLength);
  if (!(shape.tolerance >= 0 && shape.tolerance < 1)) throw new RangeError(`${fn}: shape.tolerance must be in [0, 1) (got ${shape.tolerance})`);
  const groups = refitCgGroups(unknowns);
  const rowsGrid = flatGrid(fn, device, groups);
  const params = createUniformBuffer(
    device,
    label,
    refitCgParams.pack({ unknowns, vectorLength, filled, groups, toleranceSquared: shape.tolerance * shape.tolerance }),
  );
  const bindings = [
    buffers.precondition,
    buffers.product,
    buffers.x,
    buffers.residual,
    buffers.preconditioned,
    buffers.direction,
    buffers.partials,
    buffers.state,
    params,
  ];
  const names = ['jacobi', 'dots', 'curvature', 'start', 'step', 'update', 'next', 'direction'] as const;
  const steps = await Promise.all(
    names.map(async (name, stage) => {
      const constants = { stage, jacobi: shape.jacobi };
      const pipeline = await getComputePipeline(device, { label: `${label}/${name}`, code: refitCgWgsl, constants });
      const reduction = name === 'start' || name === 'step' || name === 'next';
      return new ComputeStep(device, `${label}/${name}`, pipeline, bindings, reduction ? [1, 1, 1] : rowsGrid);
    }),
  );
  const [jacobi, dots, curvature, start, step, update, next, direction] = steps;
  return { jacobi, dots, curvature, start, step, update, next, direction, destroy: () => params.destroy() };
}
