// The GPU values that README fragments marked `<!-- test:pack uses: … -->` take as given (see scripts/test-pack.mjs):
// a device through Dawn (npm `webgpu`, the peer dependency of `vptq`), the stories260K model source and buffers
// on the device. A fragment that uses any of them runs only where a WebGPU adapter is available, and ends with
// `await releaseContext()` (appended by the harness).
import { create } from 'webgpu';
import { acquireDevice } from '@vptq/kernels-webgpu';
import { createBufferWithData } from '@vptq/kernels-webgpu/authoring';
import { openModel } from '@vptq/loader/node';

// Dawn's instance must stay reachable while the device works; V8 may collect an unread module-level binding.
const holder = globalThis as { testPackDawn?: GPU };
holder.testPackDawn = create([]);
/** A device with the limits and features the kernels use (`acquireDevice`). */
export const { device } = await acquireDevice(holder.testPackDawn);
/** stories260K (llama2.c), from the example's working directory. */
export const source = openModel('stories260K.bin');
/** Rows of `stream`. */
export const tokens = 64;
/** A residual stream `[tokens, hidden]` f32 on the GPU. */
export const stream = createBufferWithData(
  device,
  'test:pack stream',
  Float32Array.from({ length: tokens * source.config.hiddenSize }, (_, i) => Math.sin(i * 0.21) * 0.5),
);
/** Layer inputs `[tokens, 64]` f32 on the GPU, in two chunks. */
export const activationChunks = [48, 16].map((chunkTokens, c) => ({
  buffer: createBufferWithData(device, `test:pack activations ${c}`, Float32Array.from({ length: chunkTokens * 64 }, (_, i) => Math.cos(i * 0.7 + c))),
  tokens: chunkTokens,
}));

/** Frees what this module made; the harness appends `await releaseContext()` to every fragment that imports it. */
export async function releaseContext(): Promise<void> {
  await device.queue.onSubmittedWorkDone();
  stream.destroy();
  for (const chunk of activationChunks) chunk.buffer.destroy();
  source.close();
  device.destroy();
  delete holder.testPackDawn;
}
