import { createHash } from 'node:crypto';
import { join } from 'node:path';

import type { LinearInput, LinearName } from '@vptq/loader';

import { DistributedError } from './distributed-error';

/** The payload of one projection job: paths into the shared job directory and fingerprints, no tensors. */
export interface ProjectionJobData {
  /** Payload version; a worker refuses others. */
  readonly version: 1;
  /** The job directory (`<out>.partial`) as the coordinator sees it. */
  readonly jobDirectory: string;
  /** `fingerprintJob` of the whole quantization (settings, backend kind, input bytes): 64 hex digits. */
  readonly jobFingerprint: string;
  /** SHA-256 of the model directory's files as the coordinator read them: 64 hex digits. */
  readonly modelFingerprint: string;
  /** The kind of device the job's bytes are defined on. */
  readonly deviceKind: 'cpu' | 'gpu';
  readonly layer: number;
  readonly projection: LinearName;
}

/** The BullMQ queue of projection jobs for a kind of device: workers only take jobs their device can reproduce. */
export function projectionQueueName(deviceKind: 'cpu' | 'gpu'): string {
  return `vptq-projections-${deviceKind}`;
}

const linearNames: readonly LinearName[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

/**
 * The job id of a projection: the same for the same job fingerprint, job directory, layer and projection, so a
 * restarted coordinator finds (and BullMQ deduplicates) the jobs it added before; distinct for different jobs,
 * including the same inputs quantized into two output directories at once.
 */
export function projectionJobId(jobFingerprint: string, jobDirectory: string, layer: number, projection: LinearName): string {
  const key = createHash('sha256').update(`${jobFingerprint}\0${jobDirectory}`).digest('hex').slice(0, 32);
  return `vptq-${key}-${String(layer).padStart(4, '0')}-${projection}`;
}

/**
 * Checks a payload taken off the queue (any JSON) and returns it typed.
 *
 * @throws {DistributedError} `VPTQ_QUEUE_PAYLOAD` (permanent) naming the field, what it held and what was expected.
 */
export function parseProjectionJob(data: unknown): ProjectionJobData {
  const fail = (why: string): never => {
    throw new DistributedError('VPTQ_QUEUE_PAYLOAD', `projection job payload: ${why}`, { permanent: true });
  };
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail(`expected an object (got ${JSON.stringify(data)})`);
  const record = data as Record<string, unknown>;
  if (record.version !== 1) fail(`version must be 1, the version this worker reads (got ${JSON.stringify(record.version)}); run the same vptq version on the coordinator and the workers`);
  const text = (key: string): string => {
    const value = record[key];
    if (typeof value !== 'string' || value === '') fail(`${key} must be a non-empty string (got ${JSON.stringify(value)})`);
    return value as string;
  };
  const hex = (key: string): string => {
    const value = text(key);
    if (!/^[0-9a-f]{64}$/.test(value)) fail(`${key} must be 64 lower-case hex digits (got ${JSON.stringify(value)})`);
    return value;
  };
  const jobDirectory = text('jobDirectory');
  if (!jobDirectory.startsWith('/')) fail(`jobDirectory must be an absolute path (got ${JSON.stringify(jobDirectory)})`);
  const deviceKind = record.deviceKind;
  if (deviceKind !== 'cpu' && deviceKind !== 'gpu') fail(`deviceKind must be cpu or gpu (got ${JSON.stringify(deviceKind)})`);
  const layer = record.layer;
  if (typeof layer !== 'number' || !Number.isSafeInteger(layer) || layer < 0) fail(`layer must be a non-negative integer (got ${JSON.stringify(layer)})`);
  const projection = record.projection;
  if (!linearNames.includes(projection as LinearName)) fail(`projection must be one of ${linearNames.join(', ')} (got ${JSON.stringify(projection)})`);
  return {
    version: 1,
    jobDirectory,
    jobFingerprint: hex('jobFingerprint'),
    modelFingerprint: hex('modelFingerprint'),
    deviceKind: deviceKind as 'cpu' | 'gpu',
    layer: layer as number,
    projection: projection as LinearName,
  };
}

/** The folder of the job directory that the coordinator and the workers share. */
export function distributedDirectory(jobDirectory: string): string {
  return join(jobDirectory, 'distributed');
}

/** Where the coordinator writes the Hessian of a layer's input group for the workers. */
export function hessianPath(jobDirectory: string, layer: number, group: LinearInput): string {
  return join(distributedDirectory(jobDirectory), `hessian-${String(layer).padStart(4, '0')}-${group}.safetensors`);
}

/** Where a worker writes a quantized projection (atomically; its existence means the projection is done). */
export function projectionResultPath(jobDirectory: string, layer: number, projection: LinearName): string {
  return join(distributedDirectory(jobDirectory), `projection-${String(layer).padStart(4, '0')}-${projection}.safetensors`);
}
