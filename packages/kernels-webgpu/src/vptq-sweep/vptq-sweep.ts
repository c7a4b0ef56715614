import type { VptqPart } from '@vptq/codebook/engine';
import { ComputeStep, checkWorkgroups } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { defineParams, u32Fields } from '../params-struct';
import { getComputePipeline } from '../pipeline-cache';
import { partRecordFields } from '../vptq-column/vptq-column';
import type { VptqColumnKind } from '../vptq-column/vptq-column';
import type { VptqPassPlan, VptqPassRange } from '../vptq-pass/plan-vptq-pass';
import { vptqSweepSubgroupsWgsl, vptqSweepWgsl } from './vptq-sweep.wgsl';

const label = 'vptq-sweep';
const workgroupSize = 256;

/** The `Params` struct of `vptqSweepWgsl`, one record per sweep range (offsets as in `vptqColumnParams`). */
const vptqSweepParams = defineParams('vptq-sweep', u32Fields([
  'rows',
  'cols',
  'columnStart',
  'columnEnd',
  'blockStart',
  'blockEnd',
  'vectorRows',
  'numCentroids',
  'codebookOffset',
  'numResidualCentroids',
  'residualCodebookOffset',
  'partSize',
  'partStart',
  'indexOffset',
  'residualIndexOffset',
  'flagOffset',
  'residualOutputOffset',
] as const));

/** Bytes of one sweep record as bound (17 u32, rounded up to WGSL's 16-byte struct alignment). */
const recordBytes = 80;

/** The buffers a sweep binds (see `vptqSweepWgsl` for shapes and dtypes). */
export interface VptqSweepBuffers {
  readonly codebooks: GPUBuffer;
  readonly factors: GPUBuffer;
  readonly working: GPUBuffer;
  readonly outputs: GPUBuffer;
  readonly blockErrors: GPUBuffer;
  readonly indices: GPUBuffer;
  /** One record per range of every block, in order, `plan.recordStride` bytes apart (see {@link vptqSweepRecords}). */
  readonly records: GPUBuffer;
}

/** Every block's ranges in order, numbered as their records are. */
function rangesInOrder(plan: VptqPassPlan): { block: number; range: VptqPassRange }[] {
  return plan.blockRanges.flatMap((ranges, block) => ranges.map((range) => ({ block, range })));
}

/**
 * The `Params` records of every range of every block (including those of parts that run the per-column kernels,
 * so that a range's record index is its position in the plan), `plan.recordStride` bytes apart.
 */
export function vptqSweepRecords(layer: { readonly rows: number; readonly cols: number; readonly parts: readonly VptqPart[] }, plan: VptqPassPlan): ArrayBuffer {
  const ordered = rangesInOrder(plan);
  const records = new Uint8Array(Math.max(1, ordered.length) * plan.recordStride);
  ordered.forEach(({ block, range }, index) => {
    const [blockStart, blockEnd] = plan.blocks[block];
    const values = vptqSweepParams.pack({
      ...partRecordFields(layer, plan, range.part),
      columnStart: range.start,
      columnEnd: range.end,
      blockStart,
      blockEnd,
      partStart: layer.parts[range.part].start,
    });
    records.set(new Uint8Array(values), index * plan.recordStride);
  });
  return records.buffer;
}

/**
 * The sweep dispatch of every range of every block whose part runs the sweep (`plan.parts[part].sweepPoints > 0`),
 * keyed by `block` then range position; undefined for ranges of per-column parts. Bind groups are made once per
 * pass kind; the steps own nothing.
 *
 * @param useSubgroups - merge with a subgroup minimum first (needs the `subgroups` feature).
 */
export async function createVptqSweepSteps(
  device: GPUDevice,
  layer: { readonly parts: readonly VptqPart[] },
  plan: VptqPassPlan,
  buffers: VptqSweepBuffers,
  kind: VptqColumnKind,
  useSubgroups: boolean,
): Promise<(KernelDispatch | undefined)[][]> {
  const fn = 'createVptqSweepSteps';
  const pipelines = await Promise.all(
    layer.parts.map((part, index) => {
      const placed = plan.parts[index];
      if (placed.sweepPoints === 0) return undefined;
      const constants = {
        vectorLength: part.vectorLength,
        points: placed.sweepPoints,
        workgroupSize,
        useResidual: kind.useResidual,
        keepResidual: kind.keepResidual,
      };
      const code = useSubgroups ? vptqSweepSubgroupsWgsl : vptqSweepWgsl;
      return getComputePipeline(device, { label: useSubgroups ? `${label}/subgroups` : label, code, entryPoint: 'sweep', constants });
    }),
  );
  let ordinal = 0;
  return plan.blockRanges.map((ranges) =>
    ranges.map((range) => {
      const index = ordinal++;
      const pipeline = pipelines[range.part];
      if (pipeline === undefined) return undefined;
      const record = { buffer: buffers.records, offset: index * plan.recordStride, size: recordBytes };
      const bindings = [buffers.codebooks, buffers.factors, buffers.working, buffers.outputs, buffers.blockErrors, buffers.indices, record];
      return new ComputeStep(device, label, pipeline, bindings, checkWorkgroups(fn, device, plan.parts[range.part].sweepTiles));
    }),
  );
}
