import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { ResolvedSettings } from '../quantize/quantize-settings';
import { writeFileAtomic } from '../quantize/write-atomic';
import { DistributedError } from './distributed-error';
import { distributedDirectory } from './projection-job';

/** What the coordinator writes once into the job directory for its workers: `distributed/job.json`. */
export interface JobManifest {
  readonly version: 1;
  readonly fingerprint: string;
  /** The Hugging Face directory the projections are read from, as the coordinator sees it. */
  readonly sourceDir: string;
  readonly modelFingerprint: string;
  readonly deviceKind: 'cpu' | 'gpu';
  readonly settings: ResolvedSettings;
}

/** Writes the manifest (atomically) into `jobDirectory/distributed/`. */
export function writeJobManifest(jobDirectory: string, manifest: JobManifest): void {
  mkdirSync(distributedDirectory(jobDirectory), { recursive: true });
  writeFileAtomic(join(distributedDirectory(jobDirectory), 'job.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * Reads the manifest of a job directory as a worker sees it.
 *
 * @param shownAs - the directory as the coordinator named it, for the message when they differ (`--path-map`).
 * @throws {DistributedError} `VPTQ_QUEUE_STORAGE` when the worker does not see the directory or its manifest.
 */
export function readJobManifest(jobDirectory: string, shownAs: string): JobManifest {
  const path = join(distributedDirectory(jobDirectory), 'job.json');
  if (!existsSync(path)) {
    const where = jobDirectory === shownAs ? jobDirectory : `${jobDirectory} (the coordinator's ${shownAs})`;
    throw new DistributedError(
      'VPTQ_QUEUE_STORAGE',
      `this worker does not see the job directory ${where}: no ${path}. Workers need the coordinator's output storage at the same path (a shared directory), or --path-map COORDINATOR_PATH=LOCAL_PATH`,
      { permanent: true },
    );
  }
  return JSON.parse(readFileSync(path, 'utf8')) as JobManifest;
}
