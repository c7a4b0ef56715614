import { nodeModelFiles } from '@vptq/loader/node';

import { load } from '../load';
import type { LoadedModel } from '../load-cpu';
import { loadGpu } from '../load-gpu';
import type { LoadedGpuModel } from '../load-gpu';
import { createNodeDevice, releaseNodeDevice } from '../create-node-device';

/** Where a CLI command runs its model. */
export interface ModelFlags {
  readonly model: string;
  readonly tokenizer?: string;
  readonly device: 'cpu' | 'gpu';
}

/**
 * Loads the model of a CLI command on the CPU or, with `--device gpu`, on a Dawn device, runs `work`, and frees
 * the model and the device in every case (also when `work` throws), so the process can exit.
 */
export async function withModel<T>(flags: ModelFlags, work: (loaded: LoadedModel | LoadedGpuModel) => Promise<T> | T): Promise<T> {
  if (flags.device === 'cpu') return work(load(flags.model, { tokenizer: flags.tokenizer }));
  const { device } = await createNodeDevice();
  let loaded: LoadedGpuModel | undefined;
  try {
    loaded = await loadGpu(nodeModelFiles(flags.model), { device, tokenizer: flags.tokenizer === undefined ? undefined : nodeModelFiles(flags.tokenizer) });
    return await work(loaded);
  } finally {
    loaded?.release();
    releaseNodeDevice(device);
  }
}
