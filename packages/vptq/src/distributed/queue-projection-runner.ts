import { existsSync, rmSync } from 'node:fs';

import { Job, Queue, QueueEvents } from 'bullmq';
import type { RedisOptions } from 'bullmq';
import type { LinearInput, LinearSpec } from '@vptq/loader';

import type { LayerHessians } from '../quantize/calibration-stream';
import type { LayerProjections, ProjectionContext } from '../quantize/projection-runner';

import type { ClosableProjectionRunner, QuantizeJob } from '../quantize/quantize-model';
import { watchQueue } from './connect-queue';
import { ignoreClosedConnectionRejections } from './ignore-closed-connection-rejections';
import { DistributedError } from './distributed-error';
import { fingerprintModel } from './fingerprint-model';
import { isOnDevice } from '../quantize/calibration-stream';
import { writeHessianFile } from './hessian-file';
import { writeJobManifest } from './job-manifest';
import { hessianPath, projectionJobId, projectionQueueName, projectionResultPath } from './projection-job';
import type { ProjectionJobData } from './projection-job';
import { readProjectionResult } from './projection-result-file';

/** How the coordinator uses the queue. */
export interface QueueRunnerOptions {
  /** BullMQ connection options (from `connectQueue`). */
  readonly connection: RedisOptions;
  /** The queue URL for messages (password hidden). */
  readonly display: string;
  /** Layers whose projections may be queued at once (with `advanceThrough: 'original'`). Default 4. */
  readonly layersInFlight?: number;
  /** Attempts per projection job (a failed attempt is retried, by any worker). Default 3. */
  readonly attempts?: number;
  /** Milliseconds between status lines while waiting for workers. Default 30 000. */
  readonly statusIntervalMs?: number;
}

/**
 * The coordinator's side of `vptq quantize --queue`: for each layer it writes the Hessians of the layer's input
 * groups into the job directory and adds one job per projection to the queue of the job's device kind (ids derived
 * from the job fingerprint, so a restarted coordinator adds nothing twice and finds the jobs it added before), then
 * waits for the workers' result files and hands them to the layer loop, which checkpoints the layer.
 */
export async function openQueueProjectionRunner(job: QuantizeJob, options: QueueRunnerOptions): Promise<ClosableProjectionRunner> {
  const modelFingerprint = fingerprintModel(job.sourceDir);
  writeJobManifest(job.path, { version: 1, fingerprint: job.fingerprint, sourceDir: job.sourceDir, modelFingerprint, deviceKind: job.deviceKind, settings: job.settings });
  const name = projectionQueueName(job.deviceKind);
  const queue = new Queue<ProjectionJobData>(name, { connection: options.connection });
  const events = new QueueEvents(name, { connection: options.connection });
  // Every projection being waited for listens on both (job.waitUntilFinished).
  queue.setMaxListeners(0);
  events.setMaxListeners(0);
  const swallow = () => {};
  queue.on('error', swallow);
  events.on('error', swallow);
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  job.log(`queue ${name} at ${options.display}: job ${job.fingerprint.slice(0, 16)}…, model ${modelFingerprint.slice(0, 16)}…, storage ${job.path}`);

  // A Redis that stays away ends the run: every wait races this promise.
  let rejectLost: (error: Error) => void = () => {};
  const lost = new Promise<never>((_, reject) => (rejectLost = reject));
  lost.catch(() => {});
  const lostError = (error: Error) =>
    new DistributedError('VPTQ_QUEUE_UNREACHABLE', `vptq quantize: lost the queue at ${options.display}: ${error.message}; the finished layers stay in ${job.path}, run the same command again to continue`, { cause: error });
  let lostWith: DistributedError | undefined;
  const lostQueue = (error: Error) => {
    lostWith ??= lostError(error);
    rejectLost(lostWith);
  };
  const stopIgnoring = ignoreClosedConnectionRejections();
  const stopWatching = watchQueue(options.connection, lostQueue);
  let waiting = 0;
  const status = setInterval(() => {
    Promise.all([queue.getJobCounts('waiting', 'active', 'delayed', 'failed'), queue.getWorkersCount()]).then(
      ([counts, workers]) => {
        if (waiting === 0) return;
        const hint = workers === 0 ? `; no worker is connected: start vptq worker --queue ${options.display} --device ${job.deviceKind === 'gpu' ? 'gpu:N' : 'cpu'}` : '';
        job.log(`waiting for ${waiting} projections: ${counts.waiting} queued, ${counts.active} active, ${workers} workers${hint}`);
      },
      (error: Error) => lostQueue(error),
    );
  }, options.statusIntervalMs ?? 30_000);
  status.unref();

  return {
    layersInFlight: options.layersInFlight ?? 4,
    // The Hessians go to workers through files: host ones.
    takesDeviceHessians: false,
    async quantizeProjections(layer, specs, hessians, context) {
      try {
        return await queueProjections(layer, specs, hessians, context);
      } catch (error) {
        // A Redis command failed because the queue is gone: say so, as the watcher will a moment later.
        if (lostWith) throw lostWith;
        if (error instanceof Error && error.message === 'Connection is closed.') throw lostError(error);
        throw error;
      }
    },
    layerCheckpointed(layer) {
      for (const group of ['attention-input', 'attention-output', 'mlp-input', 'mlp-hidden'] as const) rmSync(hessianPath(job.path, layer, group), { force: true });
    },
    async close() {
      clearInterval(status);
      stopWatching();
      await Promise.allSettled([events.close(), queue.close()]);
      stopIgnoring();
    },
  };

  async function queueProjections(layer: number, specs: readonly LinearSpec[], hessians: LayerHessians, { phase }: ProjectionContext): Promise<LayerProjections> {
    phase('quantize');
    const missing = specs.filter((spec) => !existsSync(projectionResultPath(job.path, layer, spec.name)));
    const groups = new Set<LinearInput>(missing.map((spec) => spec.input));
    for (const group of groups) {
      const hessian = hessians[group];
      if (isOnDevice(hessian)) throw new TypeError(`queue: layer ${layer} ${group}: the queue sends host Hessians (got one kept on a GPU)`);
      writeHessianFile(hessianPath(job.path, layer, group), hessian);
    }
    const waits = missing.map(async (spec) => {
      const id = projectionJobId(job.fingerprint, job.path, layer, spec.name);
      const data: ProjectionJobData = {
        version: 1,
        jobDirectory: job.path,
        jobFingerprint: job.fingerprint,
        modelFingerprint,
        deviceKind: job.deviceKind,
        layer,
        projection: spec.name,
      };
      const queued = await ensureJob(queue, id, data, options.attempts ?? 3, () => existsSync(projectionResultPath(job.path, layer, spec.name)));
      try {
        await queued.waitUntilFinished(events);
      } catch (error) {
        throw new DistributedError('VPTQ_QUEUE_JOB_FAILED', `vptq quantize: ${spec.prefix} (job ${id}) failed on a worker: ${(error as Error).message}`, { cause: error });
      }
      if (!existsSync(projectionResultPath(job.path, layer, spec.name))) {
        throw new DistributedError('VPTQ_QUEUE_STORAGE', `vptq quantize: job ${id} finished, but ${projectionResultPath(job.path, layer, spec.name)} is not there: the worker wrote to other storage than this machine's`);
      }
    });
    waiting += missing.length;
    try {
      await Promise.race([Promise.all(waits), lost]);
    } finally {
      waiting -= missing.length;
      // Every wait settles (or is dropped with the queue), so none is left to reject unhandled.
      for (const wait of waits) wait.catch(() => {});
    }
    const results = specs.map((spec) => readProjectionResult(projectionResultPath(job.path, layer, spec.name)));
    return { tensors: results.flatMap((result) => result.tensors), projections: results.map((result) => result.summary) };
  }
}

/**
 * The queued job `id`: added when absent; a failed one (an earlier coordinator's) retried; a completed one whose
 * result file is gone (the job directory was started afresh) removed and added again.
 */
async function ensureJob(queue: Queue<ProjectionJobData>, id: string, data: ProjectionJobData, attempts: number, hasResult: () => boolean): Promise<Job<ProjectionJobData>> {
  const add = () => queue.add('projection', data, { jobId: id, attempts, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } });
  const existing = await Job.fromId<ProjectionJobData>(queue, id);
  if (!existing) return add();
  const state = await existing.getState();
  if (state === 'failed') {
    await existing.retry('failed');
    return existing;
  }
  if (state === 'completed' && !hasResult()) {
    await existing.remove();
    return add();
  }
  return existing;
}
