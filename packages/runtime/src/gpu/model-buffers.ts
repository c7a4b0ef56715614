import { captureGpuErrors } from '@vptq/kernels-webgpu';
import { bufferUsage, createStorageBuffer } from '@vptq/kernels-webgpu/authoring';
import type { LlamaConfig } from '@vptq/loader';

import type { ModelBuffers } from './forward-program';

/**
 * Every buffer a GPU model allocates besides its weights, in one place: the activations of one chunk, the KV
 * cache, and buffers created later (readbacks, the dequantization scratch), so that memory can be counted and
 * freed in one call.
 */
export interface ModelBufferSet {
  readonly buffers: ModelBuffers;
  /** A storage buffer of `bytes` the set owns. */
  storage(label: string, bytes: number): GPUBuffer;
  /** A `MAP_READ | COPY_DST` buffer of at least `bytes` (16 minimum, a multiple of 4) the set owns. */
  readback(label: string, bytes: number): GPUBuffer;
  /** Bytes of every buffer allocated so far. */
  byteLength(): number;
  destroy(): void;
}

/**
 * Allocates the activation buffers for `chunk` tokens (`allLogits` on first use) and a KV cache of
 * `contextLength` positions per layer.
 *
 * @throws {GpuValidationError} when the device refuses a buffer (e.g. above `maxStorageBufferBindingSize`).
 */
export async function allocateModelBuffers(
  device: GPUDevice,
  config: LlamaConfig,
  sizes: { readonly contextLength: number; readonly chunk: number },
): Promise<ModelBufferSet> {
  const { contextLength, chunk } = sizes;
  const allocated: GPUBuffer[] = [];
  const keep = (buffer: GPUBuffer): GPUBuffer => {
    allocated.push(buffer);
    return buffer;
  };
  const storage = (label: string, bytes: number): GPUBuffer => keep(createStorageBuffer(device, label, bytes));
  const readback = (label: string, bytes: number): GPUBuffer =>
    keep(device.createBuffer({ label, size: Math.max(16, Math.ceil(bytes / 4) * 4), usage: bufferUsage.mapRead | bufferUsage.copyDst }));
  const byteLength = (): number => allocated.reduce((total, buffer) => total + buffer.size, 0);
  const destroy = (): void => {
    for (const buffer of allocated) buffer.destroy();
    allocated.length = 0;
  };
  const hidden = config.hiddenSize;
  const queryWidth = config.numAttentionHeads * config.headDim;
  const kvWidth = config.numKeyValueHeads * config.headDim;
  const intermediate = config.intermediateSize;
  const layers = config.numHiddenLayers;
  let allLogits: GPUBuffer | undefined;
  try {
    const buffers: ModelBuffers = await captureGpuErrors(device, 'createGpuModel', () => ({
      tokens: storage('tokens', chunk * 4),
      x: storage('x', chunk * hidden * 4),
      normed: storage('normed', chunk * hidden * 4),
      q: storage('q', chunk * queryWidth * 4),
      k: storage('k', chunk * kvWidth * 4),
      v: storage('v', chunk * kvWidth * 4),
      attention: storage('attention', chunk * queryWidth * 4),
      qkv: storage('qkv', (queryWidth + 2 * kvWidth) * 4),
      gateUp: storage('gate-up', 2 * intermediate * 4),
      projected: storage('projected', chunk * hidden * 4),
      gate: storage('gate', chunk * intermediate * 4),
      up: storage('up', chunk * intermediate * 4),
      activated: storage('activated', chunk * intermediate * 4),
      lastRow: storage('last-row', hidden * 4),
      lastNormed: storage('last-normed', hidden * 4),
      lastLogits: storage('last-logits', config.vocabSize * 4),
      allLogits: () => (allLogits ??= storage('all-logits', chunk * config.vocabSize * 4)),
      keyCache: Array.from({ length: layers }, (_, layer) => storage(`key-cache-${layer}`, contextLength * kvWidth * 4)),
      valueCache: Array.from({ length: layers }, (_, layer) => storage(`value-cache-${layer}`, contextLength * kvWidth * 4)),
      position: keep(device.createBuffer({ label: 'position', size: 16, usage: bufferUsage.uniform | bufferUsage.copyDst })),
    }));
    return { buffers, storage, readback, byteLength, destroy };
  } catch (error) {
    destroy();
    throw error;
  }
}
