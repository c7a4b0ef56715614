import { join } from 'node:path';

import { fixturePath, makeTempDir, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { quantize } from './quantize-model';

// Its own file, so its own vitest fork: `device: 'auto'` opens a second Dawn instance to look at the adapters,
// and once (2026-12-07, CI) the fork that had run the long GPU parity tests first exited natively at this point.
const device = await requestTestDevice();
const calibration = fixturePath('tinystories-train-head', 'tinystories.txt');
const stories260K = { model: fixturePath('karpathy-tinyllamas-stories260K', 'stories260K.bin'), tokenizer: fixturePath('karpathy-tinyllamas-stories260K', 'tok512.bin') };

describe.skipIf(!device)('quantize --device auto', () => {
  afterAll(releaseTestDevice);
  const dir = makeTempDir();
  it("'auto' leaves a software adapter alone and says so; 'gpu' takes it", async () => {
    const logs: string[] = [];
    const out = join(dir, 'auto');
    const result = await quantize({
      ...stories260K,
      calibrationTokens: 4096,
      kmeansIterations: 2,
      refineIterations: 0,
      calibration,
      out,
      device: 'auto',
      onEvent: (event) => event.type === 'log' && logs.push(event.message),
    });
    expect(result.device).toBe('cpu');
    expect(logs.join('\n')).toMatch(/device auto: the only WebGPU adapter is a software one \(.*\); quantizing on the CPU \(--device gpu uses it anyway\)/);
  }, 600_000);
});
