import { readFileSync } from 'node:fs';

import { createByteSource, encodeSafetensors, parseSafetensorsHeader, readSafetensorsTensor } from '@vptq/pack-format/safetensors';
import type { SafetensorsTensorInput } from '@vptq/pack-format/safetensors';

import type { ProjectionSummary } from '../quantize/layer-store';
import { writeFileAtomic } from '../quantize/write-atomic';

/** One quantized projection as a worker hands it back: its output tensors and its summary. */
export interface ProjectionResult {
  readonly tensors: SafetensorsTensorInput[];
  readonly summary: ProjectionSummary;
}

/** Writes a quantized projection atomically: its tensors, with the summary as safetensors metadata. */
export function writeProjectionResult(path: string, result: ProjectionResult): void {
  writeFileAtomic(path, encodeSafetensors(result.tensors, { summary: JSON.stringify(result.summary) }));
}

/** Reads a projection written by {@link writeProjectionResult} (the tensors as their stored bytes). */
export function readProjectionResult(path: string): ProjectionResult {
  const source = createByteSource(new Uint8Array(readFileSync(path)));
  const header = parseSafetensorsHeader(source, path);
  const tensors = header.tensors.map((info) => ({ name: info.name, dtype: info.dtype, shape: info.shape, data: readSafetensorsTensor(source, info, path) }));
  const summary = header.metadata.summary;
  if (summary === undefined) throw new Error(`projection result ${path}: no summary in its metadata`);
  return { tensors, summary: JSON.parse(summary) as ProjectionSummary };
}
