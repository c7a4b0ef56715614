import type { VptqPart } from '@vptq/codebook/engine';
import { createUniformBuffer, packParams, toBufferBinding } from '../buffers';
import { checkWorkgroups } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import type { VptqPassPlan } from '../vptq-pass/plan-vptq-pass';
import { vptqColumnParams } from './vptq-column-params';
import type { VptqColumnParams } from './vptq-column-params';
import { vptqColumnWgsl } from './vptq-column.wgsl';

const label = 'vptq-column';
/** Bytes of one column's `Params` record in the storage array (16 u32). */
export const vptqColumnRecordBytes = 64;

/** The buffers a sweep binds (see `vptqColumnWgsl` for shapes and dtypes). */
export interface VptqColumnBuffers {
  readonly codebooks: GPUBuffer;
  readonly factors: GPUBuffer;
  readonly working: GPUBuffer;
  readonly outputs: GPUBuffer;
  readonly blockErrors: GPUBuffer;
  readonly indices: GPUBuffer;
  /** One record per column (see {@link vptqColumnRecords}). */
  readonly records: GPUBuffer;
}

/** What a pass does beyond the main search: the residual search, keeping the residual. */
export interface VptqColumnKind {
  readonly useResidual: boolean;
  readonly keepResidual: boolean;
}

/**
 * The `Params` records of every column, `[cols]` × 64 bytes for one storage buffer: constant for the layer, so
 * they are written once and every pass reuses them.
 */
export function vptqColumnRecords(layer: { readonly rows: number; readonly cols: number; readonly parts: readonly VptqPart[] }, plan: VptqPassPlan): ArrayBuffer {
  const records = new Uint8Array(layer.cols * vptqColumnRecordBytes);
  for (const [blockStart, blockEnd] of plan.blocks) {
    for (let column = blockStart; column < blockEnd; column++) {
      const partIndex = plan.columnPart[column];
      const part = layer.parts[partIndex];
      const placed = plan.parts[partIndex];
      const values: VptqColumnParams = {
        rows: layer.rows,
        cols: layer.cols,
        column,
        blockStart,
        blockEnd,
        vectorRows: part.vectorRows,
        numCentroids: part.numCentroids,
        codebookOffset: placed.codebookOffset,
        numResidualCentroids: part.numResidualCentroids,
        residualCodebookOffset: placed.residualCodebookOffset,
        partSize: part.size,
        localColumn: column - part.start,
        indexOffset: placed.indexOffset,
        residualIndexOffset: placed.residualIndexOffset,
        flagOffset: plan.flagOffset,
        residualOutputOffset: layer.rows * layer.cols,
      };
      records.set(new Uint8Array(vptqColumnParams.pack(values)), column * vptqColumnRecordBytes);
    }
  }
  return records.buffer;
}

/**
 * Records the sweeps of a pass of `kind` over the column ranges `chunks` (consecutive, covering the layer): each
 * chunk becomes one dispatch per run of columns whose parts share a vector length (the row mapping of a workgroup
 * depends on v), with one workgroup per tile of P vector-rows. Bind groups and range uniforms are made here once and
 * reused by every pass of that kind; each step owns its range uniform.
 *
 * @returns one list of steps per chunk, to be encoded in order.
 * @throws {RangeError} when a grid exceeds `maxComputeWorkgroupsPerDimension`.
 */
export async function createVptqColumnSteps(
  device: GPUDevice,
  layer: { readonly cols: number; readonly parts: readonly VptqPart[] },
  plan: VptqPassPlan,
  buffers: VptqColumnBuffers,
  kind: VptqColumnKind,
  chunks: readonly (readonly [number, number])[],
): Promise<KernelDispatch[][]> {
  const fn = 'createVptqColumnSteps';
  const pipelines = await Promise.all(
    layer.parts.map((part, partIndex) =>
      getComputePipeline(device, {
        label,
        code: vptqColumnWgsl,
        entryPoint: 'sweep',
        constants: {
          vectorLength: part.vectorLength,
          pointsPerWorkgroup: plan.pointsPerWorkgroup,
          workgroupSize: plan.workgroupSize,
          tileEntries: plan.parts[partIndex].tileEntries,
          useResidual: kind.useResidual,
          keepResidual: kind.keepResidual,
        },
      }),
    ),
  );
  const bindings = [buffers.codebooks, buffers.factors, buffers.records, buffers.working, buffers.outputs, buffers.blockErrors, buffers.indices];
  const made: SweepStep[] = [];
  try {
    return chunks.map(([first, last]) => {
      const steps: KernelDispatch[] = [];
      let start = first;
      while (start < last) {
        const vectorLength = layer.parts[plan.columnPart[start]].vectorLength;
        let end = start + 1;
        while (end < last && layer.parts[plan.columnPart[end]].vectorLength === vectorLength) end++;
        const partIndex = plan.columnPart[start];
        const step = new SweepStep(device, pipelines[partIndex], bindings, [start, end], checkWorkgroups(fn, device, plan.parts[partIndex].tiles));
        made.push(step);
        steps.push(step);
        start = end;
      }
      return steps;
    });
  } catch (error) {
    for (const step of made) step.destroy();
    throw error;
  }
}

/** One dispatch of the sweep over columns [first, last): its pipeline, bind group (with its own range uniform), grid. */
class SweepStep implements KernelDispatch {
  readonly label = `${label}/sweep`;
  private readonly pipeline: GPUComputePipeline;
  private readonly bindGroup: GPUBindGroup;
  private readonly grid: readonly [number, number, number];
  private readonly range: GPUBuffer;

  constructor(device: GPUDevice, pipeline: GPUComputePipeline, bindings: readonly GPUBuffer[], columns: readonly [number, number], grid: readonly [number, number, number]) {
    this.pipeline = pipeline;
    this.grid = grid;
    this.range = createUniformBuffer(device, this.label, packParams([['u32', columns[0]], ['u32', columns[1]]]));
    this.bindGroup = device.createBindGroup({
      label: this.label,
      layout: pipeline.getBindGroupLayout(0),
      entries: [...bindings, this.range].map((buffer, binding) => ({ binding, resource: toBufferBinding(buffer) })),
    });
  }

  encode(pass: GPUComputePassEncoder): void {
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, this.bindGroup);
    pass.dispatchWorkgroups(this.grid[0], this.grid[1], this.grid[2]);
  }

  destroy(): void {
    this.range.destroy();
  }
}
