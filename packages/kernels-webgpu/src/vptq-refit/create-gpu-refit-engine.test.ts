import { cpuVptqRefitEngine } from '@vptq/codebook/engine';
import type { VptqRefitEngine, VptqRefitLayer } from '@vptq/codebook/engine';
import { releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createGpuRefitEngine } from './create-gpu-refit-engine';
import type { GpuRefitOptions } from './create-gpu-refit-engine';
import { refitObjective, refitProblem } from './test/refit-problem';
import type { RefitProblem, RefitProblemLayout } from './test/refit-problem';

const device = await requestTestDevice();

async function cpuRefit(problem: RefitProblem) {
  const session = await cpuVptqRefitEngine.openLayer(problem.layer as VptqRefitLayer);
  return session.refit({ assignments: problem.assignments });
}

async function gpuRefit(gpu: GPUDevice, problem: RefitProblem, options: GpuRefitOptions = {}) {
  const session = await createGpuRefitEngine(gpu, options).openLayer(problem.layer);
  try {
    return await session.refit({ assignments: problem.assignments });
  } finally {
    session.close();
  }
}

/** How much of the CPU refit's decrease of the objective the GPU's result misses, relative (0 = the same optimum). */
function missedDecrease(problem: RefitProblem, gpu: { codebooks: Float32Array[]; residualCodebooks: (Float32Array | undefined)[] }, cpu: typeof gpu): number {
  const startObjective = refitObjective(problem, problem.assignments.map((a) => a.codebook), problem.assignments.map((a) => a.residualCodebook));
  const cpuObjective = refitObjective(problem, cpu.codebooks, cpu.residualCodebooks);
  const gpuObjective = refitObjective(problem, gpu.codebooks, gpu.residualCodebooks);
  expect(cpuObjective).toBeLessThan(startObjective);
  return (gpuObjective - cpuObjective) / (startObjective - cpuObjective);
}

describe.skipIf(!device)('createGpuRefitEngine', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('is a refit engine of @vptq/codebook (structural types)', () => {
    const engine: VptqRefitEngine = createGpuRefitEngine(gpu);
    expect(typeof engine.openLayer).toBe('function');
  });

  const layouts: [string, RefitProblemLayout, GpuRefitOptions][] = [
    ['2 groups with residual codebooks, padded last vector (dense)', { rows: 10, cols: 24, vectorLength: 4, numCentroids: 16, numResidualCentroids: 4, groups: 2 }, {}],
    ['the same, matrix-free CG', { rows: 10, cols: 24, vectorLength: 4, numCentroids: 16, numResidualCentroids: 4, groups: 2 }, { solver: 'cg' }],
    [
      'an outlier part of another vector length (two blocks, 4 sweeps), dense',
      { rows: 11, cols: 30, vectorLength: 4, numCentroids: 16, numResidualCentroids: 4, groups: 2, outlier: { size: 6, vectorLength: 3, numCentroids: 8 } },
      { solver: 'dense' },
    ],
    [
      'the same, matrix-free',
      { rows: 11, cols: 30, vectorLength: 4, numCentroids: 16, numResidualCentroids: 4, groups: 2, outlier: { size: 6, vectorLength: 3, numCentroids: 8 } },
      { solver: 'cg' },
    ],
    ['no residual, rows filling the last vector, auto', { rows: 24, cols: 32, vectorLength: 6, numCentroids: 32 }, {}],
  ];
  for (const [name, layout, options] of layouts) {
    it(`reaches the CPU refit's optimum: ${name}`, async () => {
      const problem = refitProblem(layout, 3);
      const cpu = await cpuRefit(problem);
      const result = await gpuRefit(gpu, problem, options);
      expect(result).toBeDefined();
      expect(cpu).toBeDefined();
      const missed = missedDecrease(problem, result as NonNullable<typeof result>, cpu as NonNullable<typeof cpu>);
      expect(Math.abs(missed)).toBeLessThan(1e-4);
    });
  }
});
