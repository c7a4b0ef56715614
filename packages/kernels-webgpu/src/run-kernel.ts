import { createBufferWithData, createStorageBuffer, readBuffer } from './buffers';
import { captureGpuErrors, submitDispatches } from './dispatch';
import type { KernelDispatch } from './dispatch';

/**
 * Uploads `inputs`, allocates the output buffers (zeroed when given as a byte length, initialized when
 * given as data, for in-place kernels), records the dispatch that `create` builds
 * over them, submits it inside error scopes and reads every output back. Everything is destroyed afterwards.
 * This is the path of the one-shot helpers (`rmsNorm(device, …)` etc.); decoders keep buffers resident and
 * use the `create*Dispatch` functions instead.
 */
export async function runKernel(
  device: GPUDevice,
  label: string,
  inputs: readonly ArrayBufferView[],
  outputs: readonly (number | ArrayBufferView)[],
  create: (inputs: readonly GPUBuffer[], outputs: readonly GPUBuffer[]) => Promise<KernelDispatch>,
): Promise<ArrayBuffer[]> {
  const inputBuffers: GPUBuffer[] = [];
  const outputBuffers: GPUBuffer[] = [];
  let dispatch: KernelDispatch | undefined;
  try {
    return await captureGpuErrors(device, label, async () => {
      for (const input of inputs) inputBuffers.push(createBufferWithData(device, `${label}/input`, input));
      for (const output of outputs) {
        outputBuffers.push(
          typeof output === 'number'
            ? createStorageBuffer(device, `${label}/output`, output)
            : createBufferWithData(device, `${label}/output`, output),
        );
      }
      dispatch = await create(inputBuffers, outputBuffers);
      submitDispatches(device, label, [dispatch]);
      return Promise.all(
        outputBuffers.map((buffer, index) => {
          const output = outputs[index];
          const byteLength = typeof output === 'number' ? output : output.byteLength;
          return readBuffer(device, buffer, Math.ceil(byteLength / 4) * 4);
        }),
      );
    });
  } finally {
    dispatch?.destroy();
    for (const buffer of [...inputBuffers, ...outputBuffers]) buffer.destroy();
  }
}
