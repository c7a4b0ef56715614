import { Presets, SingleBar } from 'cli-progress';

/** A progress reporter: `update(done)` as work advances, `stop()` when finished. */
export interface Progress {
  update(done: number, total?: number): void;
  stop(): void;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** Where the bar is drawn. Default `process.stderr`, so stdout stays clean for results and `--json`. */
  readonly stream?: NodeJS.WriteStream;
  /** Milliseconds before the bar first appears; work that ends sooner prints nothing. Default 1000. */
  readonly delayMs?: number;
  /** Unit shown after the counts, e.g. `'tokens'`. */
  readonly unit?: string;
}

/**
 * A terminal progress bar that appears only for work that runs longer than `delayMs` (a bar flashing for a
 * few milliseconds is noise) and only on a TTY (logs and pipes stay clean).
 */
export function createProgress(label: string, total: number, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const delayMs = options.delayMs ?? 1000;
  const startedAt = Date.now();
  let bar: SingleBar | undefined;
  let current = 0;
  let size = total;
  const enabled = stream.isTTY === true;
  return {
    update(done: number, newTotal?: number) {
      current = done;
      if (newTotal !== undefined) size = newTotal;
      if (!enabled) return;
      if (!bar && Date.now() - startedAt >= delayMs) {
        bar = new SingleBar(
          {
            stream,
            format: `${label.padEnd(24)} {bar} {percentage}% | {value}/{total} ${options.unit ?? ''} | eta {eta_formatted}`,
            hideCursor: true,
            clearOnComplete: false,
            etaBuffer: 50,
          },
          Presets.shades_classic,
        );
        bar.start(size, current);
      } else if (bar) {
        if (newTotal !== undefined) bar.setTotal(size);
        bar.update(current);
      }
    },
    stop() {
      if (bar) {
        bar.update(size);
        bar.stop();
      }
      bar = undefined;
    },
  };
}
