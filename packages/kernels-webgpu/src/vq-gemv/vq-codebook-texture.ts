import { textureUsage } from '../gpu-flags';
import type { GpuVqLayer } from '../vq-layer/upload-vq-layer';

/** The main codebooks of one or more layers copied into a texture of 16-byte texels (see {@link createVqCodebookTexture}). */
export interface VqCodebookTexture {
  readonly texture: GPUTexture;
  readonly view: GPUTextureView;
  /** Texels per texture row. */
  readonly width: number;
  /** Per layer, the texel of its first entry (group 0, entry 0); entries follow in `[G, K]` order. */
  readonly texelBases: readonly number[];
  destroy(): void;
}

/** Whether a layer's main codebook entries are exactly one 16-byte texel (v = 5…8 f16/bf16, v = 3…4 f32). */
export function hasTexelEntries(layer: GpuVqLayer): boolean {
  return layer.centroidStride * (layer.centroidFormat === 0 ? 4 : 2) === 16;
}

/**
 * Copies the main codebooks of `layers` (from their buffers, on the GPU queue, so codebooks written by
 * earlier GPU work are seen) into one `rgba32uint` texture, each layer starting on a texture row, for the
 * texture variant of the fused VQ-GEMV.
 *
 * @throws {RangeError} when an entry is not one texel or the texture would exceed maxTextureDimension2D.
 */
export function createVqCodebookTexture(device: GPUDevice, layers: readonly GpuVqLayer[], label = 'vq-codebook'): VqCodebookTexture {
  const fn = 'createVqCodebookTexture';
  const limit = device.limits.maxTextureDimension2D;
  const width = Math.min(4096, limit);
  const counts = layers.map((layer) => {
    if (!hasTexelEntries(layer)) throw new RangeError(`${fn}: codebook entries must be 16 bytes (v = ${layer.layout.vectorLength}, format ${layer.centroidFormat})`);
    return layer.layout.groupNum * layer.layout.numCentroids;
  });
  const texelBases: number[] = [];
  let rows = 0;
  for (const count of counts) {
    texelBases.push(rows * width);
    rows += Math.ceil(count / width);
  }
  if (rows > limit) throw new RangeError(`${fn}: the codebooks need ${rows} texture rows of ${width}, above maxTextureDimension2D (${limit})`);
  const texture = device.createTexture({
    label,
    size: [width, Math.max(rows, 1)],
    format: 'rgba32uint',
    usage: textureUsage.copyDst | textureUsage.textureBinding,
  });
  const encoder = device.createCommandEncoder({ label });
  for (const [index, layer] of layers.entries()) {
    const { buffer, offset } = layer.centroids;
    const count = counts[index];
    const fullRows = Math.floor(count / width);
    const firstRow = texelBases[index] / width;
    if (fullRows > 0) {
      encoder.copyBufferToTexture(
        { buffer, offset, bytesPerRow: width * 16, rowsPerImage: fullRows },
        { texture, origin: [0, firstRow] },
        [width, fullRows],
      );
    }
    const rest = count - fullRows * width;
    if (rest > 0) {
      encoder.copyBufferToTexture(
        { buffer, offset: offset + fullRows * width * 16, bytesPerRow: Math.ceil((rest * 16) / 256) * 256 },
        { texture, origin: [0, firstRow + fullRows] },
        [rest, 1],
      );
    }
  }
  device.queue.submit([encoder.finish()]);
  return { texture, view: texture.createView({ label }), width, texelBases, destroy: () => texture.destroy() };
}
