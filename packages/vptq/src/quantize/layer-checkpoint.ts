import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { createByteSource, encodeSafetensors, parseSafetensorsHeader, readSafetensorsTensor } from '@vptq/pack-format/safetensors';

import type { LayerCheckpoint, LayerStore, LayerSummary } from './layer-store';
import { writeFileAtomic } from './write-atomic';

export type { LayerCheckpoint, LayerSummary, ProjectionSummary } from './layer-store';

/** Path of layer `layer`'s checkpoint inside the job directory. */
export function layerCheckpointPath(jobDir: string, layer: number): string {
  return join(jobDir, `layer-${String(layer).padStart(4, '0')}.safetensors`);
}

/** Writes a finished layer atomically: its tensors, with the summary as safetensors metadata. */
export function writeLayerCheckpoint(jobDir: string, layer: number, checkpoint: LayerCheckpoint): void {
  const chunks = encodeSafetensors(checkpoint.tensors, { summary: JSON.stringify(checkpoint.summary) });
  writeFileAtomic(layerCheckpointPath(jobDir, layer), chunks);
}

/** Reads a finished layer back, or undefined when the layer has not been finished. */
export function readLayerCheckpoint(jobDir: string, layer: number): LayerCheckpoint | undefined {
  const path = layerCheckpointPath(jobDir, layer);
  if (!existsSync(path)) return undefined;
  const source = createByteSource(new Uint8Array(readFileSync(path)));
  const header = parseSafetensorsHeader(source, path);
  const tensors = header.tensors.map((info) => ({
    name: info.name,
    dtype: info.dtype,
    shape: info.shape,
    data: readSafetensorsTensor(source, info, path),
  }));
  const summary = JSON.parse(header.metadata.summary ?? '{"projections":[]}') as LayerSummary;
  return { tensors, summary };
}

/** The finished layers of a job directory, as a {@link LayerStore}: written atomically, so one that exists is complete. */
export function directoryLayerStore(jobDir: string): LayerStore {
  return {
    where: jobDir,
    has: (layer) => existsSync(layerCheckpointPath(jobDir, layer)),
    read: (layer) => readLayerCheckpoint(jobDir, layer),
    write: (layer, checkpoint) => writeLayerCheckpoint(jobDir, layer, checkpoint),
  };
}
