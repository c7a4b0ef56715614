import { createBufferWithData } from '../buffers';
import { captureGpuErrors } from '../dispatch';
import { createGpuHessianAccumulator } from '../hessian-accumulator/hessian-accumulator';
import { hessianTile } from '../hessian-accumulator/plan-hessian-accumulator';
import { assertCount } from '../validate';

/** Options of {@link benchmarkHessianAccumulator}. */
export interface HessianBenchmarkOptions {
  /** Input widths. Default `[4096, 14336]`: Llama-3-8B's q/k/v, o and gate/up inputs, and its down_proj input. */
  readonly columns?: readonly number[];
  /** Tokens per `accumulate` call (one input buffer, as the quantizer's activation chunks). Default 4096. */
  readonly tokensPerCall?: number;
  /** Calls timed per width. Default 8. */
  readonly calls?: number;
  /** Milliseconds of accumulation before timing (GPU clocks rise under load). Default 300. */
  readonly warmUpMilliseconds?: number;
  /** Called after each row is measured. */
  readonly onRow?: (row: HessianBenchmarkRow) => void;
}

/** One measured width. */
export interface HessianBenchmarkRow {
  readonly columns: number;
  /** Tokens accumulated in the timed calls. */
  readonly tokens: number;
  /** Wall-clock time of the timed calls, first submit to completion. */
  readonly milliseconds: number;
  readonly tokensPerSecond: number;
  /** Multiply-adds of the computed tiles (upper-triangle 64 × 64 tiles, diagonal ones whole) per second, ×10¹². */
  readonly teraMultiplyAddsPerSecond: number;
  /** Time of one `read()`: copy back and conversion to f64. */
  readonly readMilliseconds: number;
  /** GPU memory the accumulator holds. */
  readonly accumulatorBytes: number;
}

/**
 * Measures the GPU Hessian accumulator of `./quantize` on random inputs: accumulation throughput per input width
 * and the cost of reading the sums back, with wall-clock times (`onSubmittedWorkDone`), since the accumulator
 * submits its own command buffers.
 *
 * @throws {RangeError} when an option is out of range.
 * @throws {GpuValidationError} when the device cannot hold an accumulator or the inputs.
 */
export async function benchmarkHessianAccumulator(device: GPUDevice, options: HessianBenchmarkOptions = {}): Promise<HessianBenchmarkRow[]> {
  const fn = 'benchmarkHessianAccumulator';
  const tokensPerCall = assertCount(fn, 'options.tokensPerCall', options.tokensPerCall ?? 4096);
  const calls = assertCount(fn, 'options.calls', options.calls ?? 8);
  const warmUp = options.warmUpMilliseconds ?? 300;
  const rows: HessianBenchmarkRow[] = [];
  for (const columns of options.columns ?? [4096, 14336]) {
    assertCount(fn, 'options.columns[]', columns);
    const row = await captureGpuErrors(device, `benchmark/hessian ${columns}`, async () => {
      const x = createBufferWithData(device, 'benchmark/hessian-x', randomInputs(tokensPerCall * columns));
      const accumulator = await createGpuHessianAccumulator(device, columns);
      try {
        const started = performance.now();
        do {
          accumulator.accumulate(x, tokensPerCall);
          await device.queue.onSubmittedWorkDone();
        } while (performance.now() - started < warmUp);
        const before = performance.now();
        for (let call = 0; call < calls; call++) accumulator.accumulate(x, tokensPerCall);
        await device.queue.onSubmittedWorkDone();
        const milliseconds = performance.now() - before;
        const readStarted = performance.now();
        await accumulator.read();
        const readMilliseconds = performance.now() - readStarted;
        const tileColumns = Math.ceil(columns / hessianTile);
        const tokens = calls * tokensPerCall;
        const multiplyAdds = ((tileColumns * (tileColumns + 1)) / 2) * hessianTile * hessianTile * tokens;
        return {
          columns,
          tokens,
          milliseconds,
          tokensPerSecond: tokens / (milliseconds / 1e3),
          teraMultiplyAddsPerSecond: multiplyAdds / (milliseconds / 1e3) / 1e12,
          readMilliseconds,
          accumulatorBytes: accumulator.byteLength,
        };
      } finally {
        accumulator.destroy();
        x.destroy();
      }
    });
    rows.push(row);
    options.onRow?.(row);
  }
  return rows;
}

/** Uniform values in [-1, 1) from a fixed xorshift stream: fast for the 10⁸ values of wide inputs. */
function randomInputs(count: number): Float32Array {
  const values = new Float32Array(count);
  let state = 0x9e3779b9;
  for (let i = 0; i < count; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    values[i] = (state >>> 0) / 2 ** 31 - 1;
  }
  return values;
}
