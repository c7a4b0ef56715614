import { existsSync } from 'node:fs';

import { listLinearSpecs } from '@vptq/loader';
import type { ModelSource } from '@vptq/loader';
import { openModel } from '@vptq/loader/node';

import { prepareOptions } from '../quantize/projection-runner';
import { releasePrepared } from '../quantize/quantize-backend';
import type { QuantizeBackend } from '../quantize/quantize-backend';
import { quantizeLinear } from '../quantize/quantize-linear';
import { deriveSeed } from '../quantize/quantize-settings';
import { DistributedError } from './distributed-error';
import { fingerprintModel } from './fingerprint-model';
import { readHessianFile } from './hessian-file';
import { readJobManifest } from './job-manifest';
import { mapPath } from './path-map';
import type { PathMap } from './path-map';
import { hessianPath, parseProjectionJob, projectionResultPath } from './projection-job';
import { writeProjectionResult } from './projection-result-file';

/** What a worker reports for a finished projection job (the job's return value in BullMQ). */
export interface ProjectionJobOutcome {
  /** The result file, as the coordinator names it. */
  readonly result: string;
  /** Whether the result was already there (a duplicate of a job that finished elsewhere). */
  readonly existed: boolean;
  readonly seconds: number;
}

const models = new Map<string, ModelSource>();

/**
 * Quantizes the projection a job names: checks the payload, that this worker sees the job's directory and the
 * same model bytes as the coordinator and runs on the job's kind of device, then reads the projection's weight and
 * its Hessian, prepares the Hessian, quantizes with the seed the single-process run uses for it, and writes the
 * result atomically. Deterministic, so a job retried elsewhere (its worker killed) writes the same bytes.
 *
 * @param data - the job's payload, as taken off the queue (validated here).
 * @param backend - this worker's device.
 * @param pathMap - how this machine mounts the coordinator's paths (`--path-map`).
 * @throws {DistributedError} with `permanent` set for a bad payload, unseen storage, another model or device kind.
 */
export async function processProjectionJob(data: unknown, backend: QuantizeBackend, pathMap: PathMap): Promise<ProjectionJobOutcome> {
  const started = performance.now();
  const job = parseProjectionJob(data);
  const jobDirectory = mapPath(pathMap, job.jobDirectory);
  const manifest = readJobManifest(jobDirectory, job.jobDirectory);
  if (manifest.fingerprint !== job.jobFingerprint) {
    throw new DistributedError(
      'VPTQ_QUEUE_STORAGE',
      `job directory ${jobDirectory} now belongs to job ${manifest.fingerprint.slice(0, 16)}…, not to this job's ${job.jobFingerprint.slice(0, 16)}… (its run was started afresh with other inputs)`,
      { permanent: true },
    );
  }
  if (job.deviceKind !== backend.kind) {
    throw new DistributedError('VPTQ_QUEUE_DEVICE', `the job was defined on a ${job.deviceKind} device and this worker runs on ${backend.description}`, { permanent: true });
  }
  const sourceDir = mapPath(pathMap, manifest.sourceDir);
  const seen = fingerprintModel(sourceDir);
  if (seen !== job.modelFingerprint) {
    throw new DistributedError(
      'VPTQ_QUEUE_MODEL_MISMATCH',
      `the model at ${sourceDir} on this worker has fingerprint ${seen}, the coordinator's has ${job.modelFingerprint}: every worker must see the same model bytes`,
      { permanent: true },
    );
  }
  const resultPath = projectionResultPath(jobDirectory, job.layer, job.projection);
  const outcome = (existed: boolean): ProjectionJobOutcome => ({
    result: projectionResultPath(job.jobDirectory, job.layer, job.projection),
    existed,
    seconds: Math.round(performance.now() - started) / 1000,
  });
  if (existsSync(resultPath)) return outcome(true);

  // Opened once per model bytes: a directory whose files were replaced since is opened afresh.
  const key = `${sourceDir}\0${seen}`;
  let source = models.get(key);
  if (!source) {
    for (const [cached, model] of models) {
      if (cached.startsWith(`${sourceDir}\0`)) {
        model.close();
        models.delete(cached);
      }
    }
    source = openModel(sourceDir);
    models.set(key, source);
  }
  const spec = listLinearSpecs(source.config).find((candidate) => candidate.layer === job.layer && candidate.name === job.projection);
  if (!spec) {
    throw new DistributedError('VPTQ_QUEUE_PAYLOAD', `projection job payload: the model at ${sourceDir} has no projection ${job.projection} in layer ${job.layer}`, { permanent: true });
  }
  const settings = manifest.settings;
  const hessian = readHessianFile(hessianPath(jobDirectory, job.layer, spec.input));
  await source.prefetch([`${spec.prefix}.weight`, ...(spec.bias ? [`${spec.prefix}.bias`] : [])]);
  // VPTQ on a GPU worker prepares on the device (released below); the baselines need host matrices.
  const options = prepareOptions(settings);
  const prepared = settings.method === 'vptq' ? await backend.prepareVptqHessian(hessian, options) : await backend.prepareHessian(hessian, options);
  let result: Awaited<ReturnType<typeof quantizeLinear>>;
  try {
    result = await quantizeLinear({
      spec,
      weight: source.readTensor(`${spec.prefix}.weight`),
      bias: spec.bias ? source.readTensor(`${spec.prefix}.bias`) : undefined,
      prepared,
      hessian,
      method: settings.method,
      bits: settings.bits,
      vptq: settings.vptq,
      dtype: settings.dtype,
      seed: deriveSeed(settings.seed, job.layer, spec.name),
      backend,
    });
  } finally {
    releasePrepared(prepared);
  }
  if (backend.lost()) throw new Error(`the device was lost while quantizing ${spec.prefix}`);
  writeProjectionResult(resultPath, { tensors: result.tensors, summary: result.summary });
  return outcome(false);
}
