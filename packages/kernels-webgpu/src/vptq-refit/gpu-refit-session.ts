import type { VptqRefitLayer, VptqRefitRequest, VptqRefitResult } from '@vptq/codebook/engine';
import { isDeviceMatrix } from '@vptq/hessian';
import { floatTensorFromF32, floatTensorToF32 } from '@vptq/pack-format';

import { createBufferFilled, createBufferWithData, createStorageBuffer, readBuffer } from '../buffers';
import { captureGpuErrors } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { createScaleMatrixDispatch } from '../device-matrix/device-matrix';
import { gpuMatrixBuffer } from '../device-matrix/gpu-matrix';
import { createGemmTnDispatch } from '../gemm-tn/gemm-tn';
import { createInverseCholeskyDispatch } from '../inverse-cholesky/inverse-cholesky';
import { exponentAbove } from '../kmeans-reduce/fixed-point';
import { createRefitCgSteps, refitCgGroups, refitCgStateWords } from '../refit-cg/refit-cg';
import type { RefitCgSteps } from '../refit-cg/refit-cg';
import { createRefitDiagonalDispatch } from '../refit-diagonal/refit-diagonal';
import { createRefitGatherDispatch, refitGatherSegmentLength } from '../refit-gather/refit-gather';
import type { RefitGatherDispatch } from '../refit-gather/refit-gather';
import { createRefitMatvecDispatch } from '../refit-matvec/refit-matvec';
import { createRefitNormalDispatch } from '../refit-normal/refit-normal';
import type { RefitNormalDispatch } from '../refit-normal/refit-normal';
import { createRefitNullDispatch } from '../refit-null/refit-null';
import { createRefitReconstructDispatch } from '../refit-reconstruct/refit-reconstruct';
import { assertArray, assertCount, describe } from '../validate';
import { buildRefitTables, refitRidge } from './build-refit-tables';
import { planGpuRefit } from './plan-gpu-refit';
import type { GpuRefitBlockPlan, GpuRefitPlan, GpuRefitTuning } from './plan-gpu-refit';

const label = 'vptq-refit';
/** The CPU refit's ridge (relative to the mean used diagonal entry): the system both solve is (M + ρI)·x = b + ρ·x₀. */
const relativeRidge = 1e-9;
/**
 * Ridge of the f32 Cholesky factor that preconditions a dense block, relative to the mean used diagonal entry: the
 * factor of M + ρ_f·I (+ the gauge term of the main/residual null directions). Only the preconditioner sees it (the
 * iteration converges to the solution with the CPU's ridge), so it needs only to keep the f32 factorization away from
 * M's rounding-level near-null directions; 1e-5 is far below the eigenvalues that carry the objective.
 */
const choleskyRelativeRidge = 1e-5;
/** Each failed factorization retries with a ridge this many times larger, then the block falls back to Jacobi. */
const choleskyRidgeGrowth = 100;
const choleskyAttempts = 3;
const noFailure = 0xffffffff;

/** The GPU objects of one block of parts. */
interface BlockResources {
  readonly plan: GpuRefitBlockPlan;
  readonly buffers: Record<string, GPUBuffer>;
  /** Writes `x` (its codebooks) into Q at its columns. */
  readonly reconstruct: KernelDispatch;
  /** Y −= Q·H̃[·, block] over every column: Y = (T − A·x)·H̃[·, block]. */
  readonly gradient: KernelDispatch;
  /** r₀ = Σ_slot Y = b − M·x₀. */
  readonly gatherResidual: RefitGatherDispatch;
  /** The full and the cut diagonal of M into `buffers.diagonal`. */
  readonly diagonal: KernelDispatch;
  /** Ã·p = M·p + ridge·p, matrix-free: reconstruct p, Y = Q·H̃, gather + ridge·p. */
  readonly product: readonly KernelDispatch[];
  readonly setProductRidges: (full: number, cut: number) => void;
  readonly jacobiSteps: RefitCgSteps;
  /** z and p projected off the null directions of the parts with residual codebooks; undefined without any. */
  readonly project: { readonly preconditioned: KernelDispatch; readonly direction: KernelDispatch } | undefined;
  readonly dense: DenseResources | undefined;
  /** Upper bound of the gather's segments (the `segments` buffer is padded with empty ones up to it). */
  readonly maxSegments: number;
}

/** The dense solver's extra objects. */
interface DenseResources {
  readonly normal: RefitNormalDispatch;
  readonly factorizations: readonly KernelDispatch[];
  /** z = Uᵀ·(U·r). */
  readonly precondition: readonly KernelDispatch[];
  readonly steps: RefitCgSteps;
}

/**
 * The refits of one layer on the GPU (see `createGpuRefitEngine` and the README). Uploaded once at open: H̃ as f32,
 * the products S₀ = T·H̃ (`[cols, rows]`, so the target itself is not kept), and every buffer and dispatch of every
 * block. A refit builds the blocks' slot lists on the host (O(R·width)) and uploads them with the codebooks; then, on
 * the GPU, the diagonals (read back for the ridge and the Jacobi preconditioner), for dense blocks the exact normal
 * matrices and their inverse Cholesky factors (a 16-byte status read back), and each block's preconditioned CG with
 * a readback of the convergence flags every few iterations; finally the codebooks are read back and rounded to the
 * storage dtype.
 */
export class GpuRefitSession {
  private readonly device: GPUDevice;
  private readonly layer: VptqRefitLayer;
  private readonly plan: GpuRefitPlan;
  private readonly tuning: GpuRefitTuning;
  private readonly shared: Record<string, GPUBuffer>;
  private readonly blocks: readonly BlockResources[];
  private busy = false;
  private closed = false;
  private recorded: number[] = [];
  private preconditioners: ('cholesky' | 'jacobi')[] = [];

  private constructor(
    device: GPUDevice,
    layer: VptqRefitLayer,
    plan: GpuRefitPlan,
    tuning: GpuRefitTuning,
    shared: Record<string, GPUBuffer>,
    blocks: readonly BlockResources[],
  ) {
    this.device = device;
    this.layer = layer;
    this.plan = plan;
    this.tuning = tuning;
    this.shared = shared;
    this.blocks = blocks;
  }

  /**
   * Uploads `layer` and computes S₀ = T·H̃.
   *
   * @throws {TypeError|RangeError} naming the field of a malformed layer, or the device limit a size exceeds.
   * @throws {GpuValidationError} `VPTQ_GPU_OUT_OF_MEMORY` when the buffers do not fit.
   */
  static async open(device: GPUDevice, layer: VptqRefitLayer, tuning: GpuRefitTuning): Promise<GpuRefitSession> {
    const fn = 'openLayer';
    checkLayer(fn, layer);
    const plan = planGpuRefit(fn, layer, device.limits, tuning);
    const { rows, cols } = layer;
    const created: GPUBuffer[] = [];
    const owned: { destroy(): void }[] = [];
    try {
      return await captureGpuErrors(device, label, async () => {
        const keep = (buffer: GPUBuffer) => (created.push(buffer), buffer);
        const data = (name: string, values: ArrayBufferView) => keep(createBufferWithData(device, `${label}/${name}`, values));
        const storage = (name: string, bytes: number) => keep(createStorageBuffer(device, `${label}/${name}`, bytes));
        // Dense blocks scale their fixed-point normal matrices by Σ|H̃| over the block: H̃ on the host too.
        const dense = plan.blocks.some((block) => block.solver === 'dense');
        const { buffer: hessian, host: hostWeight } = await weightBuffers(device, fn, layer, dense, keep, owned);
        const shared = {
          hessian,
          // S₀ = T·H̃ once per layer: every right-hand side is a gather of S₀ minus the other block's share.
          targetProduct: storage('target-product', cols * rows * 4),
          reconstruction: storage('reconstruction', cols * rows * 4),
          product: storage('product', plan.maxWidth * rows * 4),
        };
        const target = createBufferWithData(device, `${label}/target`, layer.target);
        try {
          const product = await createGemmTnDispatch(
            device,
            { a: target, b: hessian, x: shared.targetProduct },
            { m: rows, n: cols, k: cols, lda: rows, ldb: cols, ldx: rows },
            'store',
          );
          submit(device, [product]);
          await device.queue.onSubmittedWorkDone();
          product.destroy();
        } finally {
          target.destroy();
        }
        const blocks: BlockResources[] = [];
        for (const block of plan.blocks) {
          blocks.push(await createBlock(device, layer, tuning, block, shared, storage, owned, hostWeight));
        }
        return new GpuRefitSession(device, layer, plan, tuning, shared, blocks);
      });
    } catch (error) {
      for (const item of owned) item.destroy();
      for (const buffer of created) buffer.destroy();
      throw error;
    }
  }

  /**
   * The least-squares codebooks for the request's indices (see `createGpuRefitEngine`), rounded to the layer's
   * storage dtype, or undefined when one is not finite there.
   *
   * @throws {TypeError|RangeError} naming the assignment field that does not match its part.
   * @throws {Error} when the session is closed or another refit is running.
   */
  async refit(request: VptqRefitRequest): Promise<VptqRefitResult | undefined> {
    const fn = 'refit';
    checkRequest(fn, this.layer, request);
    if (this.closed) throw new Error(`${fn}: the session is closed`);
    if (this.busy) throw new Error(`${fn}: a session runs one refit at a time (await the previous one)`);
    this.busy = true;
    try {
      return await captureGpuErrors(this.device, label, () => this.run(fn, request));
    } finally {
      this.busy = false;
    }
  }

  /**
   * What the last refit ran, per block: the solver, the preconditioner (a dense block falls back to Jacobi when its
   * f32 factorization fails three times) and the CG iterations recorded over all sweeps (each one product A·p for
   * every codebook column; columns that converged earlier idle through the rest of their chunk).
   */
  get lastRefit(): { readonly solvers: readonly ('dense' | 'cg')[]; readonly preconditioners: readonly ('cholesky' | 'jacobi')[]; readonly iterations: readonly number[] } {
    return { solvers: this.plan.blocks.map((block) => block.solver), preconditioners: this.preconditioners.slice(), iterations: this.recorded.slice() };
  }

  /** Frees every buffer of the layer; later calls throw. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const block of this.blocks) {
      const dense = block.dense;
      const dispatches = [block.reconstruct, block.gradient, block.gatherResidual, block.diagonal, ...block.product, block.jacobiSteps, block.project?.preconditioned, block.project?.direction];
      if (dense !== undefined) dispatches.push(dense.normal, ...dense.factorizations, ...dense.precondition, dense.steps);
      for (const dispatch of dispatches) dispatch?.destroy();
      for (const buffer of Object.values(block.buffers)) buffer.destroy();
    }
    for (const [name, buffer] of Object.entries(this.shared)) {
      // A Hessian of the device used as it is (no norm scale) is the caller's.
      if (name !== 'hessian' || !isDeviceMatrix(this.layer.hessian) || this.layer.hessianScale !== undefined) buffer.destroy();
    }
  }

  private async run(fn: string, request: VptqRefitRequest): Promise<VptqRefitResult | undefined> {
    const { device, layer } = this;
    const write = (buffer: GPUBuffer, values: ArrayBufferView) => device.queue.writeBuffer(buffer, 0, values.buffer, values.byteOffset, values.byteLength);
    const tables = this.blocks.map((block) => {
      const built = buildRefitTables(fn, block.plan, layer.parts, request.assignments);
      const { buffers } = block;
      const segments = new Uint32Array(block.maxSegments + 1).fill(built.entries.length);
      segments.set(built.segments);
      write(buffers.slots, built.slots);
      write(buffers.entries, built.entries);
      write(buffers.listOffsets, built.listOffsets);
      write(buffers.segments, segments);
      write(buffers.slotSegments, built.slotSegments);
      write(buffers.x, packCodebooks(layer, block.plan, request));
      if (block.dense !== undefined) write(buffers.slotPairs, built.slotPairs as Uint32Array);
      return built;
    });
    // The diagonals (Σ (run length)² reads of H̃) on the GPU, read back for the ridge, the Jacobi preconditioner and
    // the gauge: a small readback (2n f32) that saves seconds of JavaScript at Kr = 256.
    submit(device, this.blocks.map((block) => block.diagonal));
    const diagonals = await Promise.all(this.blocks.map((block) => readBuffer(device, block.buffers.diagonal, 2 * block.plan.unknowns * 4)));
    const cholesky: boolean[] = [];
    for (let index = 0; index < this.blocks.length; index++) {
      const block = this.blocks[index];
      const { unknowns } = block.plan;
      const values = new Float32Array(diagonals[index]);
      const full = Float64Array.from(values.subarray(0, unknowns));
      const cut = Float64Array.from(values.subarray(unknowns, 2 * unknowns));
      const ridges = [refitRidge(full, relativeRidge), refitRidge(cut, relativeRidge)] as const;
      const precondition = new Float32Array(2 * unknowns);
      for (let k = 0; k < unknowns; k++) {
        precondition[k] = full[k] + ridges[0];
        precondition[unknowns + k] = cut[k] + ridges[1];
      }
      write(block.buffers.precondition, precondition);
      block.setProductRidges(...ridges);
      const directions = nullDirections(layer, block.plan, tables[index], [refitRidge(full, 1), refitRidge(cut, 1)]);
      if (block.project !== undefined) {
        write(block.buffers.nullSlots, directions.slots);
        write(block.buffers.nullGroups, directions.groups);
      }
      if (block.dense !== undefined) {
        write(block.buffers.gauge, directions.gauge);
        cholesky.push(await this.factorize(block, block.dense, full, cut));
      } else {
        cholesky.push(false);
      }
    }
    this.recorded = this.blocks.map(() => 0);
    this.preconditioners = cholesky.map((usable) => (usable ? 'cholesky' : 'jacobi'));
    for (let sweep = 0; sweep < this.plan.sweeps; sweep++) {
      for (let index = 0; index < this.blocks.length; index++) this.recorded[index] += await this.solve(index, cholesky[index]);
    }
    return this.result();
  }

  /**
   * Builds the block's normal matrices and factors M + ρ_f·I, retrying with a larger ρ_f when the f32 factorization
   * meets a pivot that is not positive.
   *
   * @returns whether the Cholesky preconditioner is usable (else the block runs Jacobi with the dense product).
   */
  private async factorize(block: BlockResources, dense: DenseResources, full: Float64Array, cut: Float64Array): Promise<boolean> {
    const { device } = this;
    const mean = (diagonal: Float64Array) => refitRidge(diagonal, 1);
    let ridges = [mean(full) * choleskyRelativeRidge, mean(cut) * choleskyRelativeRidge];
    for (let attempt = 0; attempt < choleskyAttempts; attempt++) {
      dense.normal.setCholeskyRidges(ridges[0], ridges[1]);
      const stride = statusStride(device) / 4;
      const initial = new Uint32Array(2 * stride);
      initial[0] = initial[stride] = noFailure;
      device.queue.writeBuffer(block.buffers.status, 0, initial);
      const encoder = device.createCommandEncoder({ label });
      encoder.clearBuffer(block.buffers.factors);
      const pass = encoder.beginComputePass({ label });
      dense.normal.encode(pass);
      for (const step of dense.factorizations) step.encode(pass);
      pass.end();
      device.queue.submit([encoder.finish()]);
      const status = new Uint32Array(await readBuffer(device, block.buffers.status, initial.byteLength));
      if (status[0] === noFailure && status[stride] === noFailure) return true;
      ridges = ridges.map((ridge) => ridge * choleskyRidgeGrowth);
    }
    return false;
  }

  /**
   * One block's preconditioned CG from its current codebooks, the other block's held fixed.
   *
   * @returns the iterations recorded.
   */
  private async solve(index: number, cholesky: boolean): Promise<number> {
    const { device } = this;
    const block = this.blocks[index];
    const { plan, buffers, dense } = block;
    const steps = cholesky && dense !== undefined ? dense.steps : block.jacobiSteps;
    const preconditionSteps = cholesky && dense !== undefined ? dense.precondition : [steps.jacobi];
    // With Jacobi, `update` writes z itself; the projection (if any) follows z and p = z + β·p, the dots follow z.
    const finish = [...(block.project === undefined ? [] : [block.project.preconditioned]), steps.dots];
    const direction = [steps.direction, ...(block.project === undefined ? [] : [block.project.direction])];
    const iteration = [...block.product, steps.curvature, steps.step, steps.update, ...(cholesky ? preconditionSteps : []), ...finish, steps.next, ...direction];
    let encoder = device.createCommandEncoder({ label });
    encoder.copyBufferToBuffer(this.shared.targetProduct, plan.start * this.layer.rows * 4, this.shared.product, 0, plan.width * this.layer.rows * 4);
    encoder.clearBuffer(buffers.direction);
    let pass = encoder.beginComputePass({ label });
    // r₀ = gather((T − A·x)·H̃) = b − M·x₀, with every block's current codebooks in A·x.
    for (const candidate of this.blocks) candidate.reconstruct.encode(pass);
    block.gradient.encode(pass);
    block.gatherResidual.encode(pass);
    for (const step of [...preconditionSteps, ...finish, steps.start, ...direction]) step.encode(pass);
    let done = 0;
    for (;;) {
      const count = Math.min(plan.checkInterval, plan.cgIterations - done);
      for (let i = 0; i < count; i++) for (const step of iteration) step.encode(pass);
      done += count;
      pass.end();
      device.queue.submit([encoder.finish()]);
      if (done >= plan.cgIterations || !(await this.anyActive(block))) return done;
      encoder = device.createCommandEncoder({ label });
      pass = encoder.beginComputePass({ label });
    }
  }

  /** Whether a column of the block's solve still iterates (reads its state). */
  private async anyActive(block: BlockResources): Promise<boolean> {
    const { vectorLength } = block.plan;
    const state = new Float32Array(await readBuffer(this.device, block.buffers.state, vectorLength * refitCgStateWords * 4));
    for (let j = 0; j < vectorLength; j++) if (state[j * refitCgStateWords + 4] !== 0) return true;
    return false;
  }

  /** Reads every block's codebooks back and rounds them to the storage dtype. */
  private async result(): Promise<VptqRefitResult | undefined> {
    const { layer } = this;
    const codebooks: Float32Array[] = new Array(layer.parts.length);
    const residualCodebooks: (Float32Array | undefined)[] = new Array(layer.parts.length).fill(undefined);
    const values = await Promise.all(this.blocks.map((block) => readBuffer(this.device, block.buffers.x, block.plan.unknowns * block.plan.vectorLength * 4)));
    for (let index = 0; index < this.blocks.length; index++) {
      const { plan } = this.blocks[index];
      const x = new Float32Array(values[index]);
      for (let position = 0; position < plan.partIndices.length; position++) {
        const partIndex = plan.partIndices[position];
        const part = layer.parts[partIndex];
        const offset = plan.partOffsets[position] * plan.vectorLength;
        const main = toStorage(x.subarray(offset, offset + part.numCentroids * part.vectorLength), layer.storageDtype);
        if (main === undefined) return undefined;
        codebooks[partIndex] = main;
        if (part.numResidualCentroids > 0) {
          const start = offset + part.numCentroids * part.vectorLength;
          const residual = toStorage(x.subarray(start, start + part.numResidualCentroids * part.vectorLength), layer.storageDtype);
          if (residual === undefined) return undefined;
          residualCodebooks[partIndex] = residual;
        }
      }
    }
    return { codebooks, residualCodebooks };
  }
}

/** Creates one block's buffers and dispatches. */
async function createBlock(
  device: GPUDevice,
  layer: VptqRefitLayer,
  tuning: GpuRefitTuning,
  plan: GpuRefitBlockPlan,
  shared: { readonly hessian: GPUBuffer; readonly reconstruction: GPUBuffer; readonly product: GPUBuffer },
  storage: (name: string, bytes: number) => GPUBuffer,
  owned: { destroy(): void }[],
  hostWeight: Float32Array | undefined,
): Promise<BlockResources> {
  const keep = <T extends { destroy(): void }>(item: T): T => (owned.push(item), item);
  const { rows, cols } = layer;
  const { unknowns, vectorLength: v, width, vectorRows, filled, start } = plan;
  const name = (what: string) => `block-${start}/${what}`;
  const vectorBytes = unknowns * v * 4;
  const maxSegments = Math.ceil(plan.entryCount / refitGatherSegmentLength) + unknowns;
  const dense = plan.solver === 'dense';
  const nullGroupCount = plan.partIndices.filter((partIndex) => layer.parts[partIndex].numResidualCentroids > 0).length;
  const buffers: Record<string, GPUBuffer> = {
    slots: storage(name('slots'), vectorRows * width * 8),
    entries: storage(name('entries'), plan.entryCount * 4),
    listOffsets: storage(name('list-offsets'), (unknowns + 1) * 4),
    segments: storage(name('segments'), (maxSegments + 1) * 4),
    slotSegments: storage(name('slot-segments'), (unknowns + 1) * 4),
    segmentPartials: storage(name('segment-partials'), maxSegments * Math.max(v, 2) * 4),
    diagonal: storage(name('diagonal'), 2 * unknowns * 4),
    precondition: storage(name('precondition'), 2 * unknowns * 4),
    x: storage(name('x'), vectorBytes),
    residual: storage(name('residual'), vectorBytes),
    preconditioned: storage(name('preconditioned'), vectorBytes),
    direction: storage(name('direction'), vectorBytes),
    product: storage(name('product'), vectorBytes),
    partials: storage(name('partials'), refitCgGroups(unknowns) * 2 * v * 4),
    state: storage(name('state'), v * refitCgStateWords * 4),
  };
  if (nullGroupCount > 0) {
    Object.assign(buffers, {
      nullSlots: storage(name('null-slots'), unknowns * 4),
      nullGroups: storage(name('null-groups'), nullGroupCount * 4 * 4),
      nullCoefficients: storage(name('null-coefficients'), nullGroupCount * v * 4),
    });
  }
  if (dense) {
    const matrixBytes = plan.matrixStride * 4 * plan.matrixCount;
    Object.assign(buffers, {
      slotPairs: storage(name('slot-pairs'), vectorRows * width * 4),
      gauge: storage(name('gauge'), 3 * unknowns * 4),
      factorInputs: storage(name('factor-inputs'), matrixBytes),
      factors: storage(name('factors'), matrixBytes),
      scratch: storage(name('scratch'), vectorBytes),
      // One 2-word status per matrix, each at a storage-binding offset the device accepts (≤ 256 bytes by the spec).
      status: storage(name('status'), 2 * statusStride(device)),
    });
  }
  const reconstruct = keep(
    await createRefitReconstructDispatch(device, { x: buffers.x, slots: buffers.slots, q: shared.reconstruction }, { rows, width, vectorLength: v, ldq: rows, qOffset: start * rows }),
  );
  const gradient = keep(
    await createGemmTnDispatch(
      device,
      { a: shared.reconstruction, b: shared.hessian, x: shared.product },
      { m: rows, n: width, k: cols, lda: rows, ldb: cols, ldx: rows, bOffset: start },
      'subtract',
    ),
  );
  const gatherShape = { unknowns, segmentCount: maxSegments, vectorLength: v, rows, width, ldy: rows, filled };
  const gatherBuffers = {
    y: shared.product,
    entries: buffers.entries,
    segments: buffers.segments,
    slotSegments: buffers.slotSegments,
    partials: buffers.segmentPartials,
  };
  const gatherResidual = keep(await createRefitGatherDispatch(device, { ...gatherBuffers, p: buffers.x, gathered: buffers.residual }, gatherShape));
  const diagonal = keep(
    await createRefitDiagonalDispatch(
      device,
      {
        hessian: shared.hessian,
        entries: buffers.entries,
        listOffsets: buffers.listOffsets,
        segments: buffers.segments,
        slotSegments: buffers.slotSegments,
        partials: buffers.segmentPartials,
        diagonal: buffers.diagonal,
      },
      { unknowns, segmentCount: maxSegments, width, cols, start, cutRow: filled < v ? vectorRows - 1 : undefined },
    ),
  );
  const cgBuffers = {
    precondition: buffers.precondition,
    product: buffers.product,
    x: buffers.x,
    residual: buffers.residual,
    preconditioned: buffers.preconditioned,
    direction: buffers.direction,
    partials: buffers.partials,
    state: buffers.state,
  };
  const cgShape = { unknowns, vectorLength: v, filled, tolerance: tuning.cgTolerance };
  const jacobiSteps = keep(await createRefitCgSteps(device, cgBuffers, { ...cgShape, jacobi: true }));
  const projectOnto = async (values: GPUBuffer) =>
    keep(
      await createRefitNullDispatch(
        device,
        { nullSlots: buffers.nullSlots, nullGroups: buffers.nullGroups, values, coefficients: buffers.nullCoefficients },
        { unknowns, vectorLength: v, filled, groups: nullGroupCount },
      ),
    );
  const project =
    nullGroupCount === 0 ? undefined : { preconditioned: await projectOnto(buffers.preconditioned), direction: await projectOnto(buffers.direction) };
  // Ã·p = M·p + ridge·p without M: the reconstruction of p, its product with H̃ and the gather by slot. Dense blocks
  // use it too: M in f32 (each entry rounded) would blur the directions M is nearly singular along, which A·p
  // resolves exactly (a main entry and a residual entry that cancel in every vector cancel in the reconstruction).
  const reconstructDirection = keep(
    await createRefitReconstructDispatch(
      device,
      { x: buffers.direction, slots: buffers.slots, q: shared.reconstruction },
      { rows, width, vectorLength: v, ldq: rows, qOffset: start * rows },
    ),
  );
  const multiply = keep(
    await createGemmTnDispatch(
      device,
      { a: shared.reconstruction, b: shared.hessian, x: shared.product },
      { m: rows, n: width, k: width, lda: rows, ldb: cols, ldx: rows, aOffset: start * rows, bOffset: start * cols + start },
      'store',
    ),
  );
  const gather = keep(await createRefitGatherDispatch(device, { ...gatherBuffers, p: buffers.direction, gathered: buffers.product }, gatherShape));
  const product = [reconstructDirection, multiply, gather];
  const setProductRidges = (full: number, cut: number) => gather.setRidges(full, cut);
  let denseResources: DenseResources | undefined;
  if (dense) {
    const normal = keep(
      await createRefitNormalDispatch(
        device,
        {
          hessian: shared.hessian,
          slotPairs: buffers.slotPairs,
          listOffsets: buffers.listOffsets,
          entries: buffers.entries,
          gauge: buffers.gauge,
          factorInputs: buffers.factorInputs,
        },
        { unknowns, width, cols, start, cutRow: filled < v ? vectorRows - 1 : undefined, matrixStride: plan.matrixStride, scale: normalScale(hostWeight as Float32Array, layer.cols, plan) },
      ),
    );
    const factorizations: KernelDispatch[] = [];
    for (let matrix = 0; matrix < plan.matrixCount; matrix++) {
      const range = (buffer: GPUBuffer) => ({ buffer, offset: matrix * plan.matrixStride * 4, size: unknowns * unknowns * 4 });
      factorizations.push(
        keep(
          await createInverseCholeskyDispatch(
            device,
            { matrix: range(buffers.factorInputs), inverse: range(buffers.factors), status: { buffer: buffers.status, offset: matrix * statusStride(device), size: 8 } },
            { size: unknowns },
          ),
        ),
      );
    }
    const matrixShape = { unknowns, vectorLength: v, filled, matrixStride: plan.matrixStride };
    const upper = keep(
      await createRefitMatvecDispatch(device, { matrices: buffers.factors, x: buffers.residual, y: buffers.scratch }, { ...matrixShape, access: 'row', upper: true }),
    );
    const upperTransposed = keep(
      await createRefitMatvecDispatch(device, { matrices: buffers.factors, x: buffers.scratch, y: buffers.preconditioned }, { ...matrixShape, access: 'column', upper: true }),
    );
    const steps = keep(await createRefitCgSteps(device, cgBuffers, { ...cgShape, jacobi: false }));
    denseResources = { normal, factorizations, precondition: [upper, upperTransposed], steps };
  }
  return { plan, buffers, reconstruct, gradient, gatherResidual, diagonal, product, setProductRidges, jacobiSteps, project, dense: denseResources, maxSegments };
}

/**
 * The null directions of a block's normal matrices for one refit (see `refitNullWgsl`): per part with a residual
 * codebook, +1 on its used main slots and −1 on its used residual slots, over the vectors of every row (the full
 * columns) and of all but the padded last row (the cut columns); and the gauge weights of the dense factorization,
 * ±√(mean diagonal / n_g·n_g), so that the gauge term w_k1·w_k2 gives n_g an eigenvalue of the mean diagonal.
 */
function nullDirections(
  layer: VptqRefitLayer,
  plan: GpuRefitBlockPlan,
  tables: { readonly listOffsets: Uint32Array; readonly entries: Uint32Array },
  meanDiagonals: readonly [number, number],
): { slots: Uint32Array; groups: Uint32Array; gauge: Float32Array } {
  const { unknowns, width, vectorRows, filled, vectorLength } = plan;
  const { listOffsets, entries } = tables;
  const slots = new Uint32Array(unknowns);
  const gauge = new Float32Array(3 * unknowns).fill(-1, 2 * unknowns);
  const groups: number[] = [];
  const cutRow = filled < vectorLength ? vectorRows - 1 : vectorRows;
  plan.partIndices.forEach((partIndex, position) => {
    const part = layer.parts[partIndex];
    if (part.numResidualCentroids === 0) return;
    const g = groups.length / 4;
    const first = plan.partOffsets[position];
    const end = first + part.numCentroids + part.numResidualCentroids;
    let countFull = 0;
    let countCut = 0;
    for (let k = first; k < end; k++) {
      if (listOffsets[k + 1] === listOffsets[k]) continue;
      // Lists are in position order: the slot is used by a row other than the padded last one iff its first entry is.
      const usedCut = Math.floor(entries[listOffsets[k]] / width) < cutRow ? 1 : 0;
      slots[k] = ((g + 1) << 3) | (usedCut << 2) | (1 << 1) | (k >= first + part.numCentroids ? 1 : 0);
      countFull++;
      countCut += usedCut;
    }
    groups.push(first, end, countFull, countCut);
    for (let k = first; k < end; k++) {
      if (slots[k] === 0) continue;
      const sign = (slots[k] & 1) === 1 ? -1 : 1;
      gauge[k] = sign * Math.sqrt(meanDiagonals[0] / countFull);
      gauge[unknowns + k] = (slots[k] & 4) === 0 ? 0 : sign * Math.sqrt(meanDiagonals[1] / countCut);
      gauge[2 * unknowns + k] = g;
    }
  });
  return { slots, groups: Uint32Array.from(groups), gauge };
}

/**
 * The objective's weight H̃ = D·H·D as f32 on the device: a host H scaled in f64 (the CPU engine's products) and
 * rounded once, straight into the mapped upload; a device H scaled by a kernel into a new buffer, or used as it
 * is without a scale. With `onHost` (dense blocks scale their fixed-point normal matrices by Σ|H̃| over the block)
 * H̃ is also returned as f32 on the host: the uploaded values themselves, or the device's read back.
 */
async function weightBuffers(
  device: GPUDevice,
  fn: string,
  layer: VptqRefitLayer,
  onHost: boolean,
  keep: (buffer: GPUBuffer) => GPUBuffer,
  owned: { destroy(): void }[],
): Promise<{ buffer: GPUBuffer; host: Float32Array | undefined }> {
  const { cols, hessian, hessianScale: d } = layer;
  if (!isDeviceMatrix(hessian)) {
    const fill = (values: Float32Array) => {
      if (d === undefined) values.set(hessian);
      else for (let a = 0; a < cols; a++) for (let b = 0; b < cols; b++) values[a * cols + b] = d[a] * hessian[a * cols + b] * d[b];
      return values;
    };
    if (!onHost) return { buffer: keep(createBufferFilled(device, `${label}/hessian`, cols * cols * 4, (bytes) => fill(new Float32Array(bytes, 0, cols * cols)))), host: undefined };
    const host = fill(new Float32Array(cols * cols));
    return { buffer: keep(createBufferWithData(device, `${label}/hessian`, host)), host };
  }
  let buffer = gpuMatrixBuffer(fn, 'layer.hessian', hessian, device, cols);
  if (d !== undefined) {
    const weight = keep(createStorageBuffer(device, `${label}/hessian`, cols * cols * 4));
    const scale = createBufferWithData(device, `${label}/hessian-scale`, d);
    owned.push(scale);
    const step = await createScaleMatrixDispatch(device, { source: buffer, scale, destination: weight }, { size: cols, mode: 'both-sides' });
    owned.push(step);
    submit(device, [step]);
    buffer = weight;
  }
  return { buffer, host: onHost ? new Float32Array(await readBuffer(device, buffer, cols * cols * 4)) : undefined };
}

/**
 * The fixed-point scale of a dense block's normal matrix: every entry of M is a sum over the R vector rows of H̃
 * entries of the block, so |M[k1, k2]| ≤ R·Σ|H̃_block|; 2^(62 − ⌈log₂ of that⌉) keeps it below 2^62 units.
 */
function normalScale(weight: Float32Array, cols: number, plan: GpuRefitBlockPlan): number {
  let sum = 0;
  for (let a = plan.start; a < plan.end; a++) {
    for (let b = plan.start; b < plan.end; b++) sum += Math.abs(weight[a * cols + b]);
  }
  if (!(sum > 0)) return 1;
  return 2 ** Math.max(-126, Math.min(127, 62 - exponentAbove(sum * plan.vectorRows)));
}

/** Bytes between the two status records of a dense block: the device's storage offset alignment (at least 16). */
function statusStride(device: GPUDevice): number {
  return Math.max(16, device.limits.minStorageBufferOffsetAlignment);
}

function submit(device: GPUDevice, steps: readonly KernelDispatch[]): void {
  const encoder = device.createCommandEncoder({ label });
  const pass = encoder.beginComputePass({ label });
  for (const step of steps) step.encode(pass);
  pass.end();
  device.queue.submit([encoder.finish()]);
}

/** The block's codebooks as one slot-major `[unknowns, v]` table: each part's main entries, then its residual ones. */
function packCodebooks(layer: VptqRefitLayer, plan: GpuRefitBlockPlan, request: VptqRefitRequest): Float32Array {
  const x = new Float32Array(plan.unknowns * plan.vectorLength);
  plan.partIndices.forEach((partIndex, position) => {
    const part = layer.parts[partIndex];
    const offset = plan.partOffsets[position] * plan.vectorLength;
    const { codebook, residualCodebook } = request.assignments[partIndex];
    x.set(codebook, offset);
    if (residualCodebook !== undefined) x.set(residualCodebook, offset + part.numCentroids * part.vectorLength);
  });
  return x;
}

/** `values` rounded to the storage dtype (ties to even) as f32, or undefined when one is not finite there. */
function toStorage(values: Float32Array, dtype: VptqRefitLayer['storageDtype']): Float32Array | undefined {
  const stored = floatTensorToF32(floatTensorFromF32(values.slice(), dtype));
  for (const value of stored) if (!Number.isFinite(value)) return undefined;
  return stored;
}

/** @throws {TypeError|RangeError} naming the field of `layer` whose type or length is wrong. */
function checkLayer(fn: string, layer: VptqRefitLayer): void {
  if (typeof layer !== 'object' || layer === null) throw new TypeError(`${fn}: layer must be an object (got ${describe(layer)})`);
  const rows = assertCount(fn, 'layer.rows', layer.rows);
  const cols = assertCount(fn, 'layer.cols', layer.cols);
  assertArray(fn, 'layer.target', layer.target, Float32Array, rows * cols, '[cols, rows]');
  if (!isDeviceMatrix(layer.hessian)) assertArray(fn, 'layer.hessian', layer.hessian, Float64Array, cols * cols, '[cols, cols]');
  if (layer.hessianScale !== undefined) assertArray(fn, 'layer.hessianScale', layer.hessianScale, Float32Array, cols, '[cols]');
  if (!Array.isArray(layer.parts) || layer.parts.length === 0) throw new TypeError(`${fn}: layer.parts must be a non-empty array`);
  if (layer.storageDtype !== 'F32' && layer.storageDtype !== 'F16' && layer.storageDtype !== 'BF16') {
    throw new RangeError(`${fn}: layer.storageDtype must be 'F32', 'F16' or 'BF16' (got ${describe(layer.storageDtype)})`);
  }
}

/** @throws {TypeError|RangeError} naming the assignment field that does not match its part. */
function checkRequest(fn: string, layer: VptqRefitLayer, request: VptqRefitRequest): void {
  const { parts } = layer;
  if (!Array.isArray(request?.assignments) || request.assignments.length !== parts.length) {
    throw new RangeError(`${fn}: request.assignments must hold one assignment per part (got ${describe(request?.assignments)}, parts = ${parts.length})`);
  }
  parts.forEach((part, index) => {
    const assignment = request.assignments[index];
    const name = `request.assignments[${index}]`;
    const count = part.vectorRows * part.size;
    assertArray(fn, `${name}.codebook`, assignment?.codebook, Float32Array, part.numCentroids * part.vectorLength, `[${part.numCentroids}, ${part.vectorLength}]`);
    if (!(assignment.indices instanceof Uint16Array || assignment.indices instanceof Uint32Array) || assignment.indices.length !== count) {
      throw new TypeError(`${fn}: ${name}.indices must be a Uint16Array or Uint32Array of ${count} entries (got ${describe(assignment.indices)})`);
    }
    if (part.numResidualCentroids === 0) {
      if (assignment.residualCodebook !== undefined || assignment.residualIndices !== undefined) {
        throw new RangeError(`${fn}: ${name} must have no residual codebook: part ${index} has no residual entries`);
      }
      return;
    }
    assertArray(
      fn,
      `${name}.residualCodebook`,
      assignment.residualCodebook,
      Float32Array,
      part.numResidualCentroids * part.vectorLength,
      `[${part.numResidualCentroids}, ${part.vectorLength}]`,
    );
    const residual = assignment.residualIndices;
    if (!(residual instanceof Uint16Array || residual instanceof Uint32Array) || residual.length !== count) {
      throw new TypeError(`${fn}: ${name}.residualIndices must be a Uint16Array or Uint32Array of ${count} entries (got ${describe(residual)})`);
    }
  });
}
