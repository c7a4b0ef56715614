import { bufferUsage, mapMode } from '../gpu-flags';
import type { KernelDispatch } from '../dispatch';

/**
 * Median GPU time in microseconds of one run of `dispatches` (encoded round-robin, `iterations` runs in one
 * compute pass): from timestamp queries at the start and end of the pass, or the wall clock of one submit when
 * `timing` is `wall-clock`. The kernels first run for `warmUpMilliseconds` so that clocks and caches settle.
 */
export async function timeDispatches(
  device: GPUDevice,
  dispatches: readonly KernelDispatch[],
  iterations: number,
  repeats: number,
  timing: 'timestamp-query' | 'wall-clock',
  warmUpMilliseconds: number,
): Promise<number> {
  const run = (timestampWrites?: GPUComputePassTimestampWrites) => {
    const encoder = device.createCommandEncoder({ label: 'benchmark' });
    const pass = encoder.beginComputePass({ label: 'benchmark', timestampWrites });
    for (let i = 0; i < iterations; i++) dispatches[i % dispatches.length].encode(pass);
    pass.end();
    return encoder;
  };
  // Warm-up: lazy shader compilation in some drivers, caches, and above all the GPU clocks, which drop
  // while the CPU prepares data and take tens of milliseconds of load to come back.
  const warmUpStart = performance.now();
  for (let pass = 0; pass < 2 || performance.now() - warmUpStart < warmUpMilliseconds; pass++) {
    device.queue.submit([run().finish()]);
    await device.queue.onSubmittedWorkDone();
    if (pass >= 1000) break;
  }

  const samples: number[] = [];
  if (timing === 'timestamp-query') {
    const querySet = device.createQuerySet({ label: 'benchmark', type: 'timestamp', count: 2 });
    const resolved = device.createBuffer({ label: 'benchmark/timestamps', size: 16, usage: bufferUsage.queryResolve | bufferUsage.copySrc });
    const readback = device.createBuffer({ label: 'benchmark/timestamps', size: 16, usage: bufferUsage.mapRead | bufferUsage.copyDst });
    try {
      for (let r = 0; r < repeats; r++) {
        const encoder = run({ querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 });
        encoder.resolveQuerySet(querySet, 0, 2, resolved, 0);
        encoder.copyBufferToBuffer(resolved, 0, readback, 0, 16);
        device.queue.submit([encoder.finish()]);
        await readback.mapAsync(mapMode.read);
        const [start, end] = new BigUint64Array(readback.getMappedRange().slice(0));
        readback.unmap();
        samples.push(Number(end - start) / 1e3 / iterations);
      }
    } finally {
      querySet.destroy();
      resolved.destroy();
      readback.destroy();
    }
  } else {
    for (let r = 0; r < repeats; r++) {
      const start = performance.now();
      device.queue.submit([run().finish()]);
      await device.queue.onSubmittedWorkDone();
      samples.push(((performance.now() - start) * 1e3) / iterations);
    }
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}
