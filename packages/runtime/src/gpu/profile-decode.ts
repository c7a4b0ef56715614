import { bufferUsage } from '@vptq/kernels-webgpu/authoring';

import type { DispatchFilter, ForwardProgram } from './forward-program';
import { readMapped } from './read-mapped';

/** Options of `GpuLlamaModel.profileDecode`. */
export interface DecodeProfileOptions {
  /** Decode steps to time. Default `min(64, contextLength − startPosition)`. */
  readonly steps?: number;
  /**
   * Position of the first step (the cache rows before it are read as they are), to time attention over a long
   * context without a prefill. Default 0.
   */
  readonly startPosition?: number;
  /**
   * The dispatches each step records: `'all'` (default), `'linear'` (the projections and the classifier),
   * `'other'` (everything else: norms, RoPE + KV append, attention, SwiGLU, adds, embedding, argmax), or one
   * kernel label from `dispatchesPerTokenByKernel` (`'vq-gemv'`, `'attention'`, …).
   */
  readonly dispatches?: string;
}

/** Per-step times of `GpuLlamaModel.profileDecode`. */
export interface DecodeProfile {
  readonly steps: number;
  /** Dispatches one step recorded. */
  readonly dispatches: number;
  /** Wall milliseconds per step, the steps submitted back to back with no readback. */
  readonly wallMsPerStep: number;
  /** CPU milliseconds per step to write the position uniforms, record, finish and submit (the sum of the next three). */
  readonly encodeMsPerStep: number;
  /** The uniform writes alone. */
  readonly positionMsPerStep: number;
  /** Recording the dispatches into the command encoder alone. */
  readonly recordMsPerStep: number;
  /** `finish()` + `queue.submit()` alone (where Dawn validates and translates the commands). */
  readonly submitMsPerStep: number;
  /** Median GPU milliseconds of a step's compute pass, from timestamp queries; undefined without `timestamp-query`. */
  readonly gpuMsPerStep: number | undefined;
}

/** What profiling needs of a model: its single-token argmax program and the right to run it. */
export interface ProfileTarget {
  readonly device: GPUDevice;
  readonly contextLength: number;
  readonly program: ForwardProgram;
}

/**
 * Times `steps` single-token decode steps from `startPosition` (one submit each, ids fed back on the GPU, no
 * readback), recording only the selected dispatches, then waits for the GPU. The steps overwrite cache rows from
 * `startPosition` on.
 */
export async function runDecodeProfile(target: ProfileTarget, options: DecodeProfileOptions = {}): Promise<DecodeProfile> {
  const fn = 'profileDecode';
  const { device, program } = target;
  const start = options.startPosition ?? 0;
  if (!Number.isInteger(start) || start < 0 || start >= target.contextLength) {
    throw new RangeError(`${fn}: options.startPosition must be an integer between 0 and contextLength − 1 = ${target.contextLength - 1} (got ${start})`);
  }
  const room = target.contextLength - start;
  const steps = options.steps ?? Math.min(64, room);
  if (!Number.isInteger(steps) || steps < 1 || steps > room) {
    throw new RangeError(`${fn}: options.steps must be an integer between 1 and contextLength − startPosition = ${room} (got ${steps})`);
  }
  const selected = options.dispatches ?? 'all';
  let filter: DispatchFilter;
  let dispatches: number;
  if (selected === 'all' || selected === 'linear' || selected === 'other') {
    filter = selected;
    dispatches = selected === 'all' ? program.dispatchCount : countLinear(program, selected === 'linear');
  } else if (program.dispatchesByLabel.has(selected)) {
    filter = (label) => label === selected;
    dispatches = program.dispatchesByLabel.get(selected) as number;
  } else {
    throw new RangeError(
      `${fn}: options.dispatches must be 'all', 'linear', 'other' or a kernel label of this model (${[...program.dispatchesByLabel.keys()].join(', ')}); got ${selected}`,
    );
  }
  const querySet = device.features.has('timestamp-query')
    ? device.createQuerySet({ label: 'decode-timestamps', type: 'timestamp', count: 2 * steps })
    : undefined;
  try {
    const startMs = performance.now();
    let positionMs = 0;
    let recordMs = 0;
    let submitMs = 0;
    for (let step = 0; step < steps; step++) {
      const t0 = performance.now();
      program.setPosition(start + step);
      const t1 = performance.now();
      const encoder = device.createCommandEncoder({ label: 'llama-decode' });
      const timestampWrites = querySet ? { querySet, beginningOfPassWriteIndex: 2 * step, endOfPassWriteIndex: 2 * step + 1 } : undefined;
      program.encode(encoder, { filter, timestampWrites });
      const t2 = performance.now();
      device.queue.submit([encoder.finish()]);
      const t3 = performance.now();
      positionMs += t1 - t0;
      recordMs += t2 - t1;
      submitMs += t3 - t2;
    }
    await device.queue.onSubmittedWorkDone();
    const wallMs = performance.now() - startMs;
    return {
      steps,
      dispatches,
      wallMsPerStep: wallMs / steps,
      encodeMsPerStep: (positionMs + recordMs + submitMs) / steps,
      positionMsPerStep: positionMs / steps,
      recordMsPerStep: recordMs / steps,
      submitMsPerStep: submitMs / steps,
      gpuMsPerStep: querySet ? await medianPassMs(device, querySet, steps) : undefined,
    };
  } finally {
    querySet?.destroy();
  }
}

function countLinear(program: ForwardProgram, linear: boolean): number {
  const linearCount = program.linearDispatchCount;
  return linear ? linearCount : program.dispatchCount - linearCount;
}

/** The median over `steps` of (end − begin) timestamp pairs, in milliseconds. */
async function medianPassMs(device: GPUDevice, querySet: GPUQuerySet, steps: number): Promise<number> {
  const bytes = 2 * steps * 8;
  const resolved = device.createBuffer({ label: 'decode-timestamps', size: bytes, usage: bufferUsage.queryResolve | bufferUsage.copySrc });
  const readback = device.createBuffer({ label: 'decode-timestamps/readback', size: bytes, usage: bufferUsage.mapRead | bufferUsage.copyDst });
  try {
    const encoder = device.createCommandEncoder({ label: 'decode-timestamps' });
    encoder.resolveQuerySet(querySet, 0, 2 * steps, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, readback, 0, bytes);
    device.queue.submit([encoder.finish()]);
    const stamps = new BigUint64Array(await readMapped(readback, bytes));
    const durations = Array.from({ length: steps }, (_, step) => Number(stamps[2 * step + 1] - stamps[2 * step]) / 1e6).sort((a, b) => a - b);
    return durations[Math.floor(steps / 2)];
  } finally {
    resolved.destroy();
    readback.destroy();
  }
}
