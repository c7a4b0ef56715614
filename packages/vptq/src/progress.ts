import { MultiBar, Presets, SingleBar } from 'cli-progress';

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

/** Several labelled bars drawn together (e.g. layers, and the k-means of the current layer). */
export interface ProgressGroup {
  /** Sets bar `name` (created on first use) to `done` of `total`, with a label shown beside it. */
  update(name: string, label: string, done: number, total: number): void;
  stop(): void;
}

/**
 * A {@link Progress}-like group of bars sharing the terminal (cli-progress MultiBar), shown on a TTY only and
 * only once the work has run for `delayMs`.
 */
export function createProgressGroup(options: ProgressOptions = {}): ProgressGroup {
  const stream = options.stream ?? process.stderr;
  const delayMs = options.delayMs ?? 1000;
  const startedAt = Date.now();
  const enabled = stream.isTTY === true;
  let multi: MultiBar | undefined;
  const bars = new Map<string, SingleBar>();
  return {
    update(name, label, done, total) {
      if (!enabled) return;
      if (!multi) {
        if (Date.now() - startedAt < delayMs) return;
        multi = new MultiBar(
          { stream, format: '{label} {bar} {percentage}% | {value}/{total}', hideCursor: true, clearOnComplete: false },
          Presets.shades_classic,
        );
      }
      const padded = label.length > 40 ? `…${label.slice(-39)}` : label.padEnd(40);
      let bar = bars.get(name);
      if (!bar) {
        bar = multi.create(total, done, { label: padded });
        bars.set(name, bar);
      } else {
        bar.setTotal(total);
        bar.update(done, { label: padded });
      }
    },
    stop() {
      multi?.stop();
      multi = undefined;
      bars.clear();
    },
  };
}
