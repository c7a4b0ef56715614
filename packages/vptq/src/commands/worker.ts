import type { Command } from 'commander';

import { parsePathMap } from '../distributed/path-map';
import { runQuantizeWorker } from '../distributed/run-quantize-worker';
import { integerOption } from './parse-options';

interface WorkerFlags {
  queue: string;
  device: string;
  concurrency: number;
  lockDuration: number;
  stalledInterval: number;
  maxStalled: number;
  pathMap: string[];
  reconnectTimeout: number;
}

/** `vptq worker`: take the projection jobs of `vptq quantize --queue` and quantize them, until SIGINT or SIGTERM. */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('quantize the projection jobs of `vptq quantize --queue` (one worker per GPU); runs until SIGINT/SIGTERM')
    .requiredOption('--queue <url>', 'the Redis queue of the coordinator (redis://HOST:PORT)')
    .option('--device <d>', 'cpu, gpu (the adapter Dawn picks) or gpu:N (adapter N, see docs/gpu-selection.md)', 'cpu')
    .option('--concurrency <n>', 'jobs at once', integerOption('--concurrency', 1), 1)
    .option('--lock-duration <ms>', "how long a job's lock lasts unrenewed: a killed worker's job is retried after it", integerOption('--lock-duration', 1000), 30_000)
    .option('--stalled-interval <ms>', 'how often this worker looks for jobs of killed workers', integerOption('--stalled-interval', 100), 30_000)
    .option('--max-stalled <n>', 'times a job may lose its worker before it fails', integerOption('--max-stalled', 1), 3)
    .option('--reconnect-timeout <ms>', 'how long to try to reach a Redis that went away before stopping with an error', integerOption('--reconnect-timeout', 100), 60_000)
    .option('--path-map <from=to>', 'where this machine mounts a coordinator path (repeatable)', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .action(async (flags: WorkerFlags) => {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const summary = await runQuantizeWorker({
        queue: flags.queue,
        device: flags.device,
        concurrency: flags.concurrency,
        lockDurationMs: flags.lockDuration,
        stalledIntervalMs: flags.stalledInterval,
        maxStalledCount: flags.maxStalled,
        pathMap: parsePathMap(flags.pathMap),
        reconnectTimeoutMs: flags.reconnectTimeout,
        signal: stop.signal,
        log: (message) => process.stderr.write(`${new Date().toISOString()} ${message}\n`),
      });
      process.stderr.write(`worker ${process.pid} stopped: ${summary.completed} jobs done, ${summary.failed} failed\n`);
    });
}
