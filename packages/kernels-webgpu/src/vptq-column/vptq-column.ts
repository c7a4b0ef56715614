import type { VptqPart } from '@vptq/codebook/engine';
import { toBufferBinding } from '../buffers';
import type { BufferBinding } from '../buffers';
import { checkWorkgroups } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import type { VptqPassPlan } from '../vptq-pass/plan-vptq-pass';
import { vptqColumnParams } from './vptq-column-params';
import type { VptqColumnParams } from './vptq-column-params';
import { vptqColumnWgsl } from './vptq-column.wgsl';

const label = 'vptq-column';
/** Bytes of one `Params` record as bound (18 u32, rounded up to WGSL's 16-byte struct alignment). */
export const vptqColumnRecordBytes = 80;

/** The buffers every column's steps bind (see `vptqColumnWgsl` for shapes and dtypes). */
export interface VptqColumnBuffers {
  readonly codebooks: GPUBuffer;
  readonly factors: GPUBuffer;
  readonly partials: GPUBuffer;
  readonly working: GPUBuffer;
  readonly outputs: GPUBuffer;
  readonly blockErrors: GPUBuffer;
  readonly indices: GPUBuffer;
  /** One record per column, `plan.recordStride` bytes apart (see {@link vptqColumnRecords}). */
  readonly records: GPUBuffer;
}

/** What a pass does beyond the main search: the residual search, keeping the residual. */
export interface VptqColumnKind {
  readonly useResidual: boolean;
  readonly keepResidual: boolean;
}

type RecordLayer = { readonly rows: number; readonly cols: number; readonly parts: readonly VptqPart[] };

/**
 * The record fields both column kernels take from the layer and a part (`vptqColumnParams`, the sweep's params):
 * its sizes and where its codebooks, indices, flags and residual outputs lie in the pass's buffers.
 */
export function partRecordFields(layer: RecordLayer, plan: VptqPassPlan, partIndex: number) {
  const part = layer.parts[partIndex];
  const placed = plan.parts[partIndex];
  return {
    rows: layer.rows,
    cols: layer.cols,
    vectorRows: part.vectorRows,
    numCentroids: part.numCentroids,
    codebookOffset: placed.codebookOffset,
    numResidualCentroids: part.numResidualCentroids,
    residualCodebookOffset: placed.residualCodebookOffset,
    partSize: part.size,
    indexOffset: placed.indexOffset,
    residualIndexOffset: placed.residualIndexOffset,
    flagOffset: plan.flagOffset,
    residualOutputOffset: layer.rows * layer.cols,
  };
}

/**
 * The `Params` records of every column, `plan.recordStride` bytes apart, for one uniform buffer bound at an offset
 * per column: constant for the layer, so they are written once and every pass reuses them.
 */
export function vptqColumnRecords(layer: RecordLayer, plan: VptqPassPlan): ArrayBuffer {
  const records = new Uint8Array(layer.cols * plan.recordStride);
  for (const [blockStart, blockEnd] of plan.blocks) {
    for (let column = blockStart; column < blockEnd; column++) {
      const partIndex = plan.columnPart[column];
      const placed = plan.parts[partIndex];
      const values: VptqColumnParams = {
        ...partRecordFields(layer, plan, partIndex),
        column,
        blockStart,
        blockEnd,
        localColumn: column - layer.parts[partIndex].start,
        sliceEntries: placed.sliceEntries,
        searchSlices: placed.searchSlices,
      };
      records.set(new Uint8Array(vptqColumnParams.pack(values)), column * plan.recordStride);
    }
  }
  return records.buffer;
}

/**
 * Records the steps of every column of a pass of `kind`: per column, the split main search (when the part's K is
 * split over several workgroups) and the finalize step; none for the columns of parts that run the sweep kernel. Bind groups are made here once and reused by every pass of
 * that kind; the steps own nothing (the session owns the buffers).
 *
 * @returns `[cols]` lists of steps, to be encoded column after column (with the block updates in between).
 * @throws {RangeError} when a grid exceeds `maxComputeWorkgroupsPerDimension`.
 */
export async function createVptqColumnSteps(
  device: GPUDevice,
  layer: { readonly cols: number; readonly parts: readonly VptqPart[] },
  plan: VptqPassPlan,
  buffers: VptqColumnBuffers,
  kind: VptqColumnKind,
): Promise<KernelDispatch[][]> {
  const fn = 'createVptqColumnSteps';
  const partSteps = await Promise.all(
    layer.parts.map(async (part, partIndex) => {
      const placed = plan.parts[partIndex];
      if (placed.sweepPoints > 0) return undefined;
      const constants = {
        vectorLength: part.vectorLength,
        pointsPerWorkgroup: plan.pointsPerWorkgroup,
        workgroupSize: plan.workgroupSize,
        tileEntries: placed.tileEntries,
        fusedSearch: placed.searchSlices === 1,
        useResidual: kind.useResidual,
        keepResidual: kind.keepResidual,
      };
      const finalize = await getComputePipeline(device, { label, code: vptqColumnWgsl, entryPoint: 'finalize', constants });
      const search = placed.searchSlices > 1 ? await getComputePipeline(device, { label, code: vptqColumnWgsl, entryPoint: 'search', constants }) : undefined;
      return { placed, finalize, search };
    }),
  );
  const steps: KernelDispatch[][] = [];
  for (let column = 0; column < layer.cols; column++) {
    const partStep = partSteps[plan.columnPart[column]];
    if (partStep === undefined) {
      steps.push([]);
      continue;
    }
    const { placed, finalize, search } = partStep;
    const record = { buffer: buffers.records, offset: column * plan.recordStride, size: vptqColumnRecordBytes };
    const columnSteps: KernelDispatch[] = [];
    if (search !== undefined) {
      const grid = checkWorkgroups(fn, device, placed.tiles, placed.searchSlices);
      columnSteps.push(
        new BoundStep(device, `${label}/search`, search, [[0, buffers.codebooks], [2, buffers.partials], [3, buffers.working], [7, record]], grid),
      );
    }
    const bindings: [number, BufferBinding][] = [
      [0, buffers.codebooks],
      [1, buffers.factors],
      [2, buffers.partials],
      [3, buffers.working],
      [4, buffers.outputs],
      [5, buffers.blockErrors],
      [6, buffers.indices],
      [7, record],
    ];
    columnSteps.push(new BoundStep(device, `${label}/finalize`, finalize, bindings, checkWorkgroups(fn, device, placed.tiles)));
    steps.push(columnSteps);
  }
  return steps;
}

/**
 * A pipeline + bind group + grid whose bindings need not be numbered 0..n−1: an entry point of a shared module
 * with `layout: 'auto'` binds only what it uses (the search step uses 0, 2, 3 and 7).
 */
class BoundStep implements KernelDispatch {
  readonly label: string;
  private readonly pipeline: GPUComputePipeline;
  private readonly bindGroup: GPUBindGroup;
  private readonly grid: readonly [number, number, number];

  constructor(device: GPUDevice, label: string, pipeline: GPUComputePipeline, bindings: readonly [number, BufferBinding][], grid: readonly [number, number, number]) {
    this.label = label;
    this.pipeline = pipeline;
    this.grid = grid;
    this.bindGroup = device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: bindings.map(([binding, resource]) => ({ binding, resource: toBufferBinding(resource) })),
    });
  }

  encode(pass: GPUComputePassEncoder): void {
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, this.bindGroup);
    pass.dispatchWorkgroups(this.grid[0], this.grid[1], this.grid[2]);
  }

  destroy(): void {}
}
