// The processor of `vptq worker --device cpu`, loaded by BullMQ in a worker thread per concurrent job (a sandboxed
// processor), so that the CPU arithmetic of a projection never blocks the main thread that renews the job's lock.
import type { SandboxedJob } from 'bullmq';

import { asJobError } from './distributed/as-job-error';
import { processProjectionJob } from './distributed/process-projection-job';
import type { ProjectionJobOutcome } from './distributed/process-projection-job';
import type { PathMap } from './distributed/path-map';
import { createCpuQuantizeBackend } from './quantize/cpu-quantize-backend';

const backend = createCpuQuantizeBackend();
const pathMap = JSON.parse(process.env.VPTQ_WORKER_PATH_MAP ?? '[]') as PathMap;

/** Quantizes the projection the job names (see `processProjectionJob`). */
export default async function processInThread(job: SandboxedJob): Promise<ProjectionJobOutcome> {
  try {
    return await processProjectionJob(job.data, backend, pathMap);
  } catch (error) {
    throw asJobError(error);
  }
}
