import { isDeviceMatrix } from '@vptq/hessian';
import type { VptqPassLayer, VptqPassRequest, VptqPassResult } from '@vptq/codebook/engine';
import type { IndexArray } from '@vptq/pack-format';
import { createBufferFilled, createBufferWithData, createStorageBuffer, createUniformBuffer, readBuffer } from '../buffers';
import { captureGpuErrors } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { createScaleMatrixDispatch } from '../device-matrix/device-matrix';
import { gpuMatrixBuffer } from '../device-matrix/gpu-matrix';
import { createGemmTnDispatch } from '../gemm-tn/gemm-tn';
import { createPermuteTransposeDispatch } from '../permute-transpose/permute-transpose';
import { createProxyDeltaDispatch } from '../proxy-delta/proxy-delta';
import { assertArray, assertCount } from '../validate';
import { createVptqColumnSteps, vptqColumnRecords } from '../vptq-column/vptq-column';
import type { VptqColumnKind } from '../vptq-column/vptq-column';
import { createVptqSweepSteps, vptqSweepRecords } from '../vptq-sweep/vptq-sweep';
import { checkBuffer, planVptqPass } from './plan-vptq-pass';
import type { VptqPassPlan, VptqPassTuning } from './plan-vptq-pass';

const label = 'vptq-pass';
/** Submissions a pass is split into when progress is asked for (all submitted at once; progress never stalls the GPU). */
const progressChunks = 16;

/** The GPU buffers of one layer. */
interface LayerBuffers {
  readonly start: GPUBuffer;
  readonly working: GPUBuffer;
  readonly factors: GPUBuffer;
  readonly hessian: GPUBuffer;
  readonly original: GPUBuffer;
  readonly norm: GPUBuffer | undefined;
  readonly codebooks: GPUBuffer;
  readonly indices: GPUBuffer;
  readonly partials: GPUBuffer;
  readonly blockErrors: GPUBuffer;
  readonly delta: GPUBuffer;
  readonly sums: GPUBuffer;
  readonly records: GPUBuffer;
  readonly sweepRecords: GPUBuffer;
}

/**
 * The passes of one layer on the GPU. The layer's constants are uploaded once at open: the starting weight, U·D⁻¹
 * as f32 (`factors`: row c holds d_c/U_cc on the diagonal and U_cj/d_j right of it, each rounded once from the
 * f64 quotient), H as f32, the original weight and norm for the proxy error, the `Params` records (per column, and
 * per block and part for the sweep), and every bind group. A layer prepared on this device (`prepareHessianGpu`)
 * uploads neither matrix: a kernel forms U·D⁻¹ from its U, and its H is read in place (it stays the caller's). A
 * pass then writes its codebooks, copies the starting weight to the working buffer and records the whole loop (per
 * block one sweep dispatch per part, or one or two dispatches per column; then one `gemm-tn` lazy update) and the
 * proxy error (`proxy-delta`, then `gemm-tn`'s quadratic form) with no readback in between; the indices (with the
 * non-finite flags), the proxy error's per-tile sums and, when asked for, the residual are read back once at the
 * end; the quantized weight stays on the device and is rebuilt on the host from the indices if it is read.
 */
export class GpuVptqPassSession {
  private readonly device: GPUDevice;
  private readonly layer: VptqPassLayer;
  private readonly plan: VptqPassPlan;
  private readonly buffers: LayerBuffers;
  private readonly blockUpdates: readonly (KernelDispatch | undefined)[];
  private readonly denominator: number;
  private outputs: GPUBuffer;
  private withResidualOutput: boolean;
  private measureSteps: readonly KernelDispatch[];
  private readonly kinds = new Map<string, Promise<KernelDispatch[][]>>();
  private readonly useSubgroups: boolean;
  private busy = false;
  private closed = false;

  private constructor(
    device: GPUDevice,
    layer: VptqPassLayer,
    plan: VptqPassPlan,
    buffers: LayerBuffers,
    outputs: { readonly buffer: GPUBuffer; readonly withResidual: boolean },
    blockUpdates: readonly (KernelDispatch | undefined)[],
    measureSteps: readonly KernelDispatch[],
    denominator: number,
    tuning: VptqPassTuning,
  ) {
    this.device = device;
    this.layer = layer;
    this.plan = plan;
    this.buffers = buffers;
    this.outputs = outputs.buffer;
    this.withResidualOutput = outputs.withResidual;
    this.blockUpdates = blockUpdates;
    this.measureSteps = measureSteps;
    this.denominator = denominator;
    this.useSubgroups = tuning.useSubgroups ?? device.features.has('subgroups');
  }

  /**
   * Uploads `layer` and measures tr(W·H·Wᵀ) once.
   *
   * @throws {TypeError|RangeError} naming the field of a malformed layer, or the device limit a size exceeds.
   * @throws {GpuValidationError} `VPTQ_GPU_OUT_OF_MEMORY` when the buffers do not fit.
   */
  static async open(device: GPUDevice, layer: VptqPassLayer, tuning: VptqPassTuning): Promise<GpuVptqPassSession> {
    const fn = 'openLayer';
    checkLayer(fn, layer);
    const plan = planVptqPass(fn, layer, device.limits, tuning);
    const { rows, cols } = layer;
    const created: GPUBuffer[] = [];
    const owned: KernelDispatch[] = [];
    try {
      return await captureGpuErrors(device, label, async () => {
        const data = (name: string, values: ArrayBufferView) => keep(createBufferWithData(device, `${label}/${name}`, values));
        const storage = (name: string, bytes: number) => keep(createStorageBuffer(device, `${label}/${name}`, bytes));
        const keep = (buffer: GPUBuffer) => {
          created.push(buffer);
          return buffer;
        };
        const norm = normInQuantizationOrder(layer);
        const withResidual = layer.parts.some((part) => part.numResidualCentroids > 0);
        // Matrices prepared on this device are read where they are: U·D⁻¹ by a kernel, H borrowed (not freed here).
        const { inverseCholesky: u, hessian } = layer;
        const deviceFactor = isDeviceMatrix(u) ? gpuMatrixBuffer(fn, 'layer.inverseCholesky', u, device, cols) : undefined;
        const buffers: LayerBuffers = {
          start: data('start', layer.start),
          working: storage('working', rows * cols * 4),
          factors:
            deviceFactor === undefined
              ? keep(createBufferFilled(device, `${label}/factors`, cols * cols * 4, (bytes) => scaledFactors(layer, u as Float64Array, new Float32Array(bytes, 0, cols * cols))))
              : storage('factors', cols * cols * 4),
          hessian: isDeviceMatrix(hessian)
            ? gpuMatrixBuffer(fn, 'layer.hessian', hessian, device, cols)
            : keep(createBufferFilled(device, `${label}/hessian`, cols * cols * 4, (bytes) => new Float32Array(bytes, 0, cols * cols).set(hessian))),
          original: storage('original', rows * cols * 4),
          norm: norm === undefined ? undefined : data('norm', norm),
          codebooks: storage('codebooks', plan.codebookWords * 16),
          indices: storage('indices', plan.indexWords * 4),
          partials: storage('partials', plan.partialEntries * 8),
          blockErrors: storage('block-errors', Math.min(layer.blockSize, cols) * rows * 4),
          delta: storage('delta', rows * cols * 4),
          sums: storage('sums', plan.measureTiles * 4),
          records: keep(createUniformBuffer(device, `${label}/records`, vptqColumnRecords(layer, plan))),
          sweepRecords: keep(createUniformBuffer(device, `${label}/sweep-records`, vptqSweepRecords(layer, plan))),
        };
        const outputs = storage('outputs', rows * cols * 4 * (withResidual ? 2 : 1));
        const blockUpdates = await Promise.all(
          plan.blocks.map(async ([start, end]) => {
            if (end === cols) return undefined;
            // W[:, end:] −= E·U'[start:end, end:] in the [cols, rows] layout.
            const step = await createGemmTnDispatch(
              device,
              { a: buffers.blockErrors, b: buffers.factors, x: buffers.working },
              { m: rows, n: cols - end, k: end - start, lda: rows, ldb: cols, ldx: rows, bOffset: start * cols + end, xOffset: end * rows },
              'subtract',
            );
            owned.push(step);
            return step;
          }),
        );
        const measureSteps = await createMeasureSteps(device, layer, buffers, outputs);
        owned.push(...measureSteps);
        if (deviceFactor !== undefined) {
          const scale = createBufferWithData(device, `${label}/column-scale`, layer.columnScale === undefined ? new Float32Array(cols).fill(1) : Float32Array.from(layer.columnScale));
          const step = await createScaleMatrixDispatch(device, { source: deviceFactor, scale, destination: buffers.factors }, { size: cols, mode: 'factors' });
          submit(device, [step]);
          step.destroy();
          scale.destroy();
        }
        await layOutOriginal(device, layer, buffers.original);
        // tr(W·H·Wᵀ) once: the quadratic form of the original weight itself.
        const reference = await createGemmTnDispatch(device, { a: buffers.original, b: buffers.hessian, sums: buffers.sums }, measureShape(layer), 'quadratic');
        owned.push(reference);
        submit(device, [reference]);
        const denominator = sumTiles(await readBuffer(device, buffers.sums, plan.measureTiles * 4));
        return new GpuVptqPassSession(device, layer, plan, buffers, { buffer: outputs, withResidual }, blockUpdates, measureSteps, denominator, tuning);
      });
    } catch (error) {
      for (const step of owned) step.destroy();
      for (const buffer of created) buffer.destroy();
      throw error;
    }
  }

  /**
   * One column loop with `request`'s codebooks (see `VptqPassRequest`), recorded as one sequence of dispatches.
   *
   * @throws {RangeError|TypeError} naming the codebook that does not match its part.
   * @throws {Error} when the session is closed or another pass is running.
   */
  async runPass(request: VptqPassRequest): Promise<VptqPassResult> {
    const fn = 'runPass';
    const { layer, plan, device, buffers } = this;
    const { rows, cols } = layer;
    const useResidual = checkRequest(fn, layer, request);
    const kind: VptqColumnKind = { useResidual, keepResidual: request.keepResidual === true };
    return this.exclusive(fn, () =>
      captureGpuErrors(device, label, async () => {
        if (kind.keepResidual && !this.withResidualOutput) await this.growOutputs();
        device.queue.writeBuffer(buffers.codebooks, 0, packCodebooks(layer, plan, request));
        const blocks = await this.blockSteps(kind);
        const onFraction = request.onFraction;
        onFraction?.(0);
        const progress: Promise<void>[] = [];
        const chunk = onFraction === undefined ? plan.blocks.length : Math.ceil(plan.blocks.length / progressChunks);
        for (let first = 0; first < plan.blocks.length; first += chunk) {
          const encoder = device.createCommandEncoder({ label });
          if (first === 0) {
            encoder.copyBufferToBuffer(buffers.start, 0, buffers.working, 0, rows * cols * 4);
            if (plan.flagCount > 0) encoder.clearBuffer(buffers.indices, plan.flagOffset * 4, plan.flagCount * 4);
          }
          const pass = encoder.beginComputePass({ label });
          const last = Math.min(first + chunk, plan.blocks.length);
          for (let block = first; block < last; block++) {
            for (const step of blocks[block]) step.encode(pass);
            this.blockUpdates[block]?.encode(pass);
          }
          pass.end();
          device.queue.submit([encoder.finish()]);
          if (onFraction !== undefined) {
            const done = plan.blocks[last - 1][1];
            progress.push(device.queue.onSubmittedWorkDone().then(() => onFraction(done / cols)));
          }
        }
        submit(device, this.measureSteps);
        // The quantized weight stays on the device (the host rebuilds it from the indices if it is asked for); only
        // the residual a residual k-means needs comes back.
        const size = rows * cols * 4;
        const [residual, indexWords, sums] = await Promise.all([
          kind.keepResidual ? readBuffer(device, { buffer: this.outputs, offset: size, size }) : undefined,
          readBuffer(device, buffers.indices, plan.indexWords * 4),
          readBuffer(device, buffers.sums, plan.measureTiles * 4),
          ...progress,
        ]);
        onFraction?.(1);
        return this.result(request, residual as ArrayBuffer | undefined, new Uint32Array(indexWords as ArrayBuffer), sumTiles(sums as ArrayBuffer), kind);
      }),
    );
  }

  /**
   * The proxy error of a `[cols, rows]` f32 quantized weight (normalized units, quantization order), computed as
   * after a pass.
   *
   * @throws {TypeError|RangeError} when `quantized` is not a Float32Array of rows·cols.
   */
  async measure(quantized: Float32Array): Promise<number> {
    const fn = 'measure';
    assertArray(fn, 'quantized', quantized, Float32Array, this.layer.rows * this.layer.cols, '[cols, rows]');
    return this.exclusive(fn, () =>
      captureGpuErrors(this.device, label, async () => {
        this.device.queue.writeBuffer(this.outputs, 0, quantized);
        submit(this.device, this.measureSteps);
        return this.proxyError(sumTiles(await readBuffer(this.device, this.buffers.sums, this.plan.measureTiles * 4)));
      }),
    );
  }

  /** Frees every buffer of the layer; later calls throw. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const step of [...this.blockUpdates, ...this.measureSteps]) step?.destroy();
    for (const [name, buffer] of Object.entries(this.buffers)) {
      // A Hessian prepared on the device is the caller's.
      if (name !== 'hessian' || !isDeviceMatrix(this.layer.hessian)) (buffer as GPUBuffer | undefined)?.destroy();
    }
    this.outputs.destroy();
  }

  private async exclusive<T>(fn: string, action: () => Promise<T>): Promise<T> {
    if (this.closed) throw new Error(`${fn}: the session is closed`);
    if (this.busy) throw new Error(`${fn}: a session runs one pass or measure at a time (await the previous one)`);
    this.busy = true;
    try {
      return await action();
    } finally {
      this.busy = false;
    }
  }

  /** Per block, the dispatches of its columns in order (the lazy update after it is separate), made once per kind. */
  private blockSteps(kind: VptqColumnKind): Promise<KernelDispatch[][]> {
    const key = `${kind.useResidual}/${kind.keepResidual}`;
    let steps = this.kinds.get(key);
    if (steps === undefined) {
      steps = this.createBlockSteps(kind);
      this.kinds.set(key, steps);
      steps.catch(() => this.kinds.delete(key));
    }
    return steps;
  }

  private async createBlockSteps(kind: VptqColumnKind): Promise<KernelDispatch[][]> {
    const { device, layer, plan } = this;
    const { codebooks, factors, partials, working, blockErrors, indices, records, sweepRecords } = this.buffers;
    const outputs = this.outputs;
    const sweeping = plan.parts.some((part) => part.sweepPoints > 0);
    const perColumn = plan.parts.some((part) => part.sweepPoints === 0);
    const [sweeps, columns] = await Promise.all([
      sweeping ? createVptqSweepSteps(device, layer, plan, { codebooks, factors, working, outputs, blockErrors, indices, records: sweepRecords }, kind, this.useSubgroups) : undefined,
      perColumn ? createVptqColumnSteps(device, layer, plan, { codebooks, factors, partials, working, outputs, blockErrors, indices, records }, kind) : undefined,
    ]);
    return plan.blockRanges.map((ranges, block) =>
      ranges.flatMap((range, position) => {
        const sweep = sweeps?.[block][position];
        if (sweep !== undefined) return [sweep];
        const steps: KernelDispatch[] = [];
        for (let column = range.start; column < range.end; column++) steps.push(...(columns as KernelDispatch[][])[column]);
        return steps;
      }),
    );
  }

  /** Makes room for the residual in the outputs (a layer without residual parts asked to keep one). */
  private async growOutputs(): Promise<void> {
    const { rows, cols } = this.layer;
    checkBuffer('runPass', 'the outputs with a residual (2·rows·cols f32)', rows * cols * 8, this.device.limits);
    const outputs = createStorageBuffer(this.device, `${label}/outputs`, rows * cols * 8);
    const measureSteps = await createMeasureSteps(this.device, this.layer, this.buffers, outputs);
    for (const step of this.measureSteps) step.destroy();
    this.outputs.destroy();
    this.outputs = outputs;
    this.measureSteps = measureSteps;
    this.withResidualOutput = true;
    // Every bind group held the old outputs buffer.
    this.kinds.clear();
  }

  private result(request: VptqPassRequest, residual: ArrayBuffer | undefined, words: Uint32Array, numerator: number, kind: VptqColumnKind): VptqPassResult {
    const { layer, plan } = this;
    const indices = layer.parts.map((part, index) => toIndexArray(words, plan.parts[index].indexOffset, part.vectorRows * part.size, part.numCentroids));
    const residualIndices = layer.parts.map((part, index) =>
      kind.useResidual && part.numResidualCentroids > 0
        ? toIndexArray(words, plan.parts[index].residualIndexOffset, part.vectorRows * part.size, part.numResidualCentroids)
        : undefined,
    );
    let firstFlag = 0;
    for (let tile = 0; tile < plan.flagCount; tile++) {
      const flag = words[plan.flagOffset + tile];
      if (flag !== 0 && (firstFlag === 0 || flag < firstFlag)) firstFlag = flag;
    }
    let quantized: Float32Array | undefined;
    const codebooks = request.codebooks;
    const residualCodebooks = kind.useResidual ? request.residualCodebooks : undefined;
    return {
      // Built once, on first read: a quantizer reads the weight of its final loop only.
      get quantized() {
        quantized ??= quantizedFromIndices(layer, codebooks, residualCodebooks, indices, residualIndices);
        return quantized;
      },
      residual: residual === undefined ? undefined : new Float32Array(residual),
      indices,
      residualIndices,
      proxyError: this.proxyError(numerator),
      nonFinite: firstFlag === 0 ? undefined : { column: firstFlag - 1 },
    };
  }

  /** numerator / tr(W·H·Wᵀ), with `proxyError`'s conventions of @vptq/hessian for a zero denominator. */
  private proxyError(numerator: number): number {
    if (this.denominator === 0) return numerator === 0 ? 0 : Number.POSITIVE_INFINITY;
    return numerator / this.denominator;
  }
}

/**
 * The `[cols, rows]` f32 quantized weight of a pass from its indices, as the column kernels write it: per vector,
 * the main entry plus (f32 addition) the residual entry; rows past the last are padding and not stored.
 */
function quantizedFromIndices(
  layer: Pick<VptqPassLayer, 'rows' | 'cols' | 'parts'>,
  codebooks: readonly Float32Array[],
  residualCodebooks: readonly (Float32Array | undefined)[] | undefined,
  indices: readonly IndexArray[],
  residualIndices: readonly (IndexArray | undefined)[],
): Float32Array {
  const { rows, cols } = layer;
  const quantized = new Float32Array(rows * cols);
  layer.parts.forEach((part, partIndex) => {
    const { vectorLength: v, vectorRows, size } = part;
    const codebook = codebooks[partIndex];
    const residualCodebook = residualCodebooks?.[partIndex];
    const main = indices[partIndex];
    const extra = residualIndices[partIndex];
    for (let local = 0; local < size; local++) {
      const base = (part.start + local) * rows;
      for (let r = 0; r < vectorRows; r++) {
        const entry = main[r * size + local] * v;
        const width = Math.min(v, rows - r * v);
        const at = base + r * v;
        if (residualCodebook === undefined || extra === undefined) {
          for (let t = 0; t < width; t++) quantized[at + t] = codebook[entry + t];
        } else {
          const residualEntry = extra[r * size + local] * v;
          for (let t = 0; t < width; t++) quantized[at + t] = codebook[entry + t] + residualCodebook[residualEntry + t];
        }
      }
    }
  });
  return quantized;
}

/** ΔW = (q·scale + bias) − W, then its quadratic form with H: the two dispatches of a proxy error. */
async function createMeasureSteps(device: GPUDevice, layer: VptqPassLayer, buffers: LayerBuffers, outputs: GPUBuffer): Promise<KernelDispatch[]> {
  const { rows, cols } = layer;
  const delta = await createProxyDeltaDispatch(
    device,
    { quantized: { buffer: outputs, offset: 0, size: rows * cols * 4 }, original: buffers.original, norm: buffers.norm, delta: buffers.delta },
    { rows, cols },
  );
  const quadratic = await createGemmTnDispatch(device, { a: buffers.delta, b: buffers.hessian, sums: buffers.sums }, measureShape(layer), 'quadratic');
  return [delta, quadratic];
}

function measureShape(layer: VptqPassLayer) {
  return { m: layer.rows, n: layer.cols, k: layer.cols, lda: layer.rows, ldb: layer.cols };
}

function submit(device: GPUDevice, steps: readonly KernelDispatch[]): void {
  const encoder = device.createCommandEncoder({ label });
  const pass = encoder.beginComputePass({ label });
  for (const step of steps) step.encode(pass);
  pass.end();
  device.queue.submit([encoder.finish()]);
}

/** The f32 per-tile partial sums, added in f64 in tile order (a fixed order: the same bytes give the same sum). */
function sumTiles(bytes: ArrayBuffer): number {
  let total = 0;
  for (const value of new Float32Array(bytes)) total += value;
  return total;
}

/**
 * Writes `[cols, cols]` f32 `factors` (zeros on entry, e.g. a freshly mapped upload): row c holds d_c/U_cc on the
 * diagonal and U_cj/d_j right of it, each quotient rounded once.
 */
function scaledFactors(layer: VptqPassLayer, u: Float64Array, factors: Float32Array): Float32Array {
  const { cols, columnScale } = layer;
  for (let c = 0; c < cols; c++) {
    factors[c * cols + c] = (columnScale === undefined ? 1 : columnScale[c]) / u[c * cols + c];
    for (let j = c + 1; j < cols; j++) factors[c * cols + j] = u[c * cols + j] / (columnScale === undefined ? 1 : columnScale[j]);
  }
  return factors;
}

/**
 * The proxy error's reference weight in the loop's layout, `[cols, rows]`, un-normalized, every column live (the
 * proxy error's H zeroes dead ones): uploaded as stored and laid out on the device (`permute-transpose`, the twin of
 * `toWorkingLayout` without norm or dead columns), which saves the host a strided pass over the weight.
 */
async function layOutOriginal(device: GPUDevice, layer: VptqPassLayer, original: GPUBuffer): Promise<void> {
  const { rows, cols } = layer;
  const weight = createBufferWithData(device, `${label}/weight`, layer.weight.data);
  const perm = createBufferWithData(device, `${label}/perm`, layer.perm);
  try {
    const step = await createPermuteTransposeDispatch(device, { weight, perm, out: original }, { rows, cols });
    submit(device, [step]);
    step.destroy();
  } finally {
    // Freed once the submitted work is done.
    weight.destroy();
    perm.destroy();
  }
}

/** The proxy error's `[2, cols]` scale and bias in the loop's column order, or undefined without a norm. */
function normInQuantizationOrder(layer: VptqPassLayer): Float32Array | undefined {
  const { cols, perm, norm } = layer;
  if (norm === undefined) return undefined;
  const values = new Float32Array(2 * cols);
  for (let position = 0; position < cols; position++) {
    values[position] = norm.scale[perm[position]];
    values[cols + position] = norm.bias[perm[position]];
  }
  return values;
}

/** Every part's codebooks, entries zero-padded to vec4 words, at their planned offsets. */
function packCodebooks(layer: VptqPassLayer, plan: VptqPassPlan, request: VptqPassRequest): Float32Array {
  const packed = new Float32Array(plan.codebookWords * 4);
  layer.parts.forEach((part, index) => {
    const { vectorWords, codebookOffset, residualCodebookOffset } = plan.parts[index];
    const place = (codebook: Float32Array, entries: number, offset: number) => {
      for (let entry = 0; entry < entries; entry++) {
        packed.set(codebook.subarray(entry * part.vectorLength, (entry + 1) * part.vectorLength), (offset + entry * vectorWords) * 4);
      }
    };
    place(request.codebooks[index], part.numCentroids, codebookOffset);
    const residual = request.residualCodebooks?.[index];
    if (residual !== undefined) place(residual, part.numResidualCentroids, residualCodebookOffset);
  });
  return packed;
}

function toIndexArray(words: Uint32Array, offset: number, count: number, entries: number): Uint16Array | Uint32Array {
  const view = words.subarray(offset, offset + count);
  return entries <= 65536 ? Uint16Array.from(view) : view.slice();
}

/**
 * Checks a pass's codebooks against the layer's parts.
 *
 * @returns whether the pass searches residual codebooks.
 * @throws {RangeError} naming the codebook whose length is wrong, or a part with residual entries left without a
 *   residual codebook in a residual pass (the GPU searches every such part or none).
 */
function checkRequest(fn: string, layer: VptqPassLayer, request: VptqPassRequest): boolean {
  const { parts } = layer;
  if (!Array.isArray(request?.codebooks) || request.codebooks.length !== parts.length) {
    throw new RangeError(`${fn}: codebooks must hold one codebook per part (got ${request?.codebooks?.length}, parts = ${parts.length})`);
  }
  const residuals = request.residualCodebooks;
  if (residuals !== undefined && (!Array.isArray(residuals) || residuals.length !== parts.length)) {
    throw new RangeError(`${fn}: residualCodebooks must hold one entry per part (got ${residuals?.length}, parts = ${parts.length})`);
  }
  parts.forEach((part, index) => {
    assertArray(fn, `codebooks[${index}]`, request.codebooks[index], Float32Array, part.numCentroids * part.vectorLength, `[${part.numCentroids}, ${part.vectorLength}]`);
    if (residuals === undefined) return;
    const residual = residuals[index];
    if (part.numResidualCentroids === 0) {
      if (residual !== undefined) throw new RangeError(`${fn}: residualCodebooks[${index}] must be undefined: part ${index} has no residual codebook`);
      return;
    }
    if (residual === undefined) {
      throw new RangeError(`${fn}: residualCodebooks[${index}] is required: the GPU engine searches every part with residual entries or none`);
    }
    assertArray(fn, `residualCodebooks[${index}]`, residual, Float32Array, part.numResidualCentroids * part.vectorLength, `[${part.numResidualCentroids}, ${part.vectorLength}]`);
  });
  return residuals !== undefined;
}

/** @throws {TypeError|RangeError} naming the field of `layer` whose type or length is wrong. */
function checkLayer(fn: string, layer: VptqPassLayer): void {
  if (typeof layer !== 'object' || layer === null) throw new TypeError(`${fn}: layer must be an object (got ${String(layer)})`);
  const rows = assertCount(fn, 'layer.rows', layer.rows);
  const cols = assertCount(fn, 'layer.cols', layer.cols);
  assertCount(fn, 'layer.blockSize', layer.blockSize);
  assertArray(fn, 'layer.start', layer.start, Float32Array, rows * cols, '[cols, rows]');
  if (!isDeviceMatrix(layer.inverseCholesky)) assertArray(fn, 'layer.inverseCholesky', layer.inverseCholesky, Float64Array, cols * cols, '[cols, cols]');
  if (layer.columnScale !== undefined) assertArray(fn, 'layer.columnScale', layer.columnScale, Float64Array, cols, '[cols]');
  if (!isDeviceMatrix(layer.hessian)) assertArray(fn, 'layer.hessian', layer.hessian, Float64Array, cols * cols, '[cols, cols]');
  assertArray(fn, 'layer.perm', layer.perm, Uint32Array, cols, '[cols]');
  if (layer.weight?.rows !== rows || layer.weight.cols !== cols) {
    throw new RangeError(`${fn}: layer.weight must be [${rows}, ${cols}] (got [${layer.weight?.rows}, ${layer.weight?.cols}])`);
  }
  assertArray(fn, 'layer.weight.data', layer.weight.data, Float32Array, rows * cols, '[rows, cols]');
  if (layer.norm !== undefined) {
    assertArray(fn, 'layer.norm.scale', layer.norm.scale, Float32Array, cols, '[cols]');
    assertArray(fn, 'layer.norm.bias', layer.norm.bias, Float32Array, cols, '[cols]');
  }
  for (const column of layer.perm) {
    if (column >= cols) throw new RangeError(`${fn}: layer.perm must hold column indices below ${cols} (got ${column})`);
  }
  if (!Array.isArray(layer.parts) || layer.parts.length === 0) throw new TypeError(`${fn}: layer.parts must be a non-empty array`);
}
