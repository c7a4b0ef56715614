import { createUniformBuffer } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, DispatchSequence, checkWorkgroups, flatGrid } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { defineParams, u32Fields } from '../params-struct';
import { assertCount } from '../validate';
import { refitNullWgsl } from './refit-null.wgsl';

const label = 'refit-null';

/** The `Params` struct of `refitNullWgsl`, named once. */
export const refitNullParams = defineParams(label, u32Fields(['unknowns', 'vectorLength', 'filled', 'groups'] as const));

/** Buffers of {@link createRefitNullDispatch}. */
export interface RefitNullBuffers {
  /**
   * `[unknowns]` u32: 0 for a slot outside every null direction, else (g + 1) << 3 | usedCut << 2 | usedFull << 1 |
   * (1 where n_g is −1): used by the vectors of every row (columns j < filled) or of all but the padded last one.
   */
  readonly nullSlots: BufferBinding;
  /** `[groups, 4]` u32: first slot, end slot, and n_g·n_g over the full and over the cut columns. */
  readonly nullGroups: BufferBinding;
  /** `[unknowns, vectorLength]` f32 (z or p), projected in place. */
  readonly values: BufferBinding;
  /** `[groups, vectorLength]` f32 scratch. */
  readonly coefficients: BufferBinding;
}

/**
 * Records the projection of one of the refit's vectors (z or p) onto the complement of the normal matrix's null directions (see
 * `refitNullWgsl`): one workgroup per direction, then one invocation per slot.
 *
 * @throws {RangeError} naming the field when a size is invalid or the grid exceeds the device limit.
 */
export async function createRefitNullDispatch(
  device: GPUDevice,
  buffers: RefitNullBuffers,
  shape: { readonly unknowns: number; readonly vectorLength: number; readonly filled: number; readonly groups: number },
): Promise<KernelDispatch> {
  const fn = 'createRefitNullDispatch';
  const unknowns = assertCount(fn, 'shape.unknowns', shape.unknowns);
  const vectorLength = assertCount(fn, 'shape.vectorLength', shape.vectorLength, 1, 16);
  const filled = assertCount(fn, 'shape.filled', shape.filled, 1, vectorLength);
  const groups = assertCount(fn, 'shape.groups', shape.groups);
  const params = createUniformBuffer(device, label, refitNullParams.pack({ unknowns, vectorLength, filled, groups }));
  const bindings = [buffers.nullSlots, buffers.nullGroups, buffers.values, buffers.coefficients, params];
  const [coefficients, project] = await Promise.all(
    ['coefficients', 'project'].map((name, stage) => getComputePipeline(device, { label: `${label}/${name}`, code: refitNullWgsl, constants: { stage } })),
  );
  return new DispatchSequence(
    label,
    [
      new ComputeStep(device, `${label}/coefficients`, coefficients, bindings, checkWorkgroups(fn, device, groups)),
      new ComputeStep(device, `${label}/project`, project, bindings, flatGrid(fn, device, Math.ceil(unknowns / 256))),
    ],
    [params],
  );
}
