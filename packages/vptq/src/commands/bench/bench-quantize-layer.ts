import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import type { VptqOptions, VptqProxyError } from '@vptq/codebook';

import { createNodeDevice, releaseNodeDevice } from '../../create-node-device';
import { printTable } from '../print-table';
import { integerOption, numberOption } from '../parse-options';
import { PhaseClock } from '../../phase-clock';
import { quantizeDefaults } from '../../quantize/quantize-defaults';
import { createCpuQuantizeBackend } from '../../quantize/cpu-quantize-backend';
import { createGpuQuantizeBackend } from '../../quantize/gpu-quantize-backend';
import { releasePrepared } from '../../quantize/quantize-backend';
import type { QuantizeBackend } from '../../quantize/quantize-backend';
import { parseVptqSpec } from './parse-vptq-spec';
import { syntheticLayer } from './synthetic-layer';
import type { SyntheticLayer } from './synthetic-layer';

/** One layer to quantize: shape, settings and the target the issue sets. */
interface LayerCase {
  readonly name: string;
  readonly rows: number;
  readonly cols: number;
  readonly options: VptqOptions;
  /** Seconds the issue asks for on an H100, if any. */
  readonly targetSeconds?: number;
}

/** The reference's published time for its case (spec §2): Llama-3.1-8B up_proj, one GPU. */
const referenceSeconds = 130.6 + 5.6 + 0.9 + 5.8;

/** The k-means and refinement settings every case of a run shares; codebooks and norm stored as f16. */
function runOptions(iterations: number, refine: number, refineTolerance: number) {
  return { kmeansIterations: iterations, refineIterations: refine, refineTolerance, storageDtype: 'F16' as const };
}

/**
 * The issue's two cases; both run 100 k-means iterations, the full column loops and refinement. `divide` shrinks
 * them for a check on a software adapter: sides by `divide`, codebooks by `divide²` (at least 2 entries).
 */
function gpuCases(iterations: number, refine: number, refineTolerance: number, divide: number): LayerCase[] {
  const common = runOptions(iterations, refine, refineTolerance);
  const side = (n: number) => n / divide;
  const entries = (k: number) => Math.max(2, k / (divide * divide));
  const name = (rows: number, cols: number, setting: string) => `${side(rows)}×${side(cols)} ${setting}`;
  return [
    {
      name: name(4096, 4096, `v6-k${entries(4096)}`),
      rows: side(4096),
      cols: side(4096),
      options: { ...common, vectorLength: 6, numCentroids: entries(4096), numResidualCentroids: 0 },
      targetSeconds: divide === 1 ? 5 : undefined,
    },
    {
      name: name(14336, 4096, `v8-k${entries(65536)}-r${entries(256)}`),
      rows: side(14336),
      cols: side(4096),
      options: { ...common, vectorLength: 8, numCentroids: entries(65536), numResidualCentroids: entries(256) },
      targetSeconds: divide === 1 ? 60 : undefined,
    },
  ];
}

interface BenchLayerFlags {
  case?: string[];
  divide: number;
  iterations: number;
  refine: number;
  refineTolerance: number;
  refitIterations?: number;
  refitSolver?: 'auto' | 'dense' | 'cg';
  cpuRows: number;
  cpuIterations: number;
  cpuRefine?: number;
  only?: string;
  warm?: boolean;
  json?: boolean;
}

/**
 * `vptq bench quantize-layer`: one projection with synthetic weights and a realistic Hessian (outlier channels,
 * correlated inputs) quantized on the GPU (Hessian preparation, k-means, column loops, refinement), beside the
 * CPU path on a smaller layer with the same settings and the reference's published time.
 */
export function registerBenchQuantizeLayer(bench: Command): void {
  bench
    .command('quantize-layer')
    .description("one layer on the GPU (4096×4096 v6-k4096; 14336×4096 v8-k65536-r256), the CPU path on a smaller layer, the reference's published time")
    .option('--iterations <n>', 'k-means iterations', integerOption('--iterations', 1), 100)
    .option('--divide <n>', 'shrink the GPU cases (sides by n, codebooks by n²) for a software adapter', powerOfTwoOption, 1)
    .option('--refine <n>', 'refinement rounds', integerOption('--refine', 0), 16)
    .option('--refine-tolerance <t>', "stop refining once two rounds gained less than this fraction (default: quantize's)", numberOption('--refine-tolerance', 0, 0.999999), quantizeDefaults.refineTolerance)
    .option('--refit-iterations <n>', 'most conjugate-gradient iterations of the GPU refit (default: its own)', integerOption('--refit-iterations', 1))
    .addOption(new Option('--refit-solver <s>', 'solver of the GPU refit (default: auto)').choices(['auto', 'dense', 'cg']))
    .option('--cpu-rows <n>', 'rows and columns of the CPU layer', integerOption('--cpu-rows', 8), 1024)
    .option('--cpu-iterations <n>', 'k-means iterations of the CPU layer', integerOption('--cpu-iterations', 1), 10)
    .option('--cpu-refine <n>', 'refinement rounds of the CPU layer (default: --refine)', integerOption('--cpu-refine', 0))
    .option('--case <cases...>', "GPU cases instead of the issue's two, as OUTxIN:setting (e.g. 11008x4096:v6-k4096 4096x11008:v6-k4096)")
    .option('--only <name>', "run the GPU case whose name contains this (e.g. 'v6'), 'none' for the CPU path only")
    .option('--warm', 'run each GPU case twice: cold (shader compilation included), then warm')
    .option('--json', 'also print one JSON line per case')
    .action(async (flags: BenchLayerFlags) => {
      const rows: string[][] = [];
      const say = (line: string) => process.stderr.write(`${line}\n`);
      // The JSON line also carries the proxy error of every stage (each refinement round's included).
      const report = (row: { name: string; device: string; seconds: number; phases: Record<string, number>; proxyError: number; stages?: VptqProxyError; kmeansIterations: string; target?: number; reference?: number }) => {
        rows.push([
          row.name,
          row.device,
          row.seconds.toFixed(2),
          Object.entries(row.phases)
            .map(([phase, seconds]) => `${phase} ${seconds.toFixed(1)}`)
            .concat(`k-means iterations ${row.kmeansIterations}`)
            .join(', '),
          row.proxyError.toExponential(3),
          row.target === undefined ? '' : `≤ ${row.target}`,
          row.reference === undefined ? '' : `${row.reference.toFixed(1)} (${(row.reference / row.seconds).toFixed(2)}× faster)`,
        ]);
        if (flags.json) process.stdout.write(`${JSON.stringify(row)}\n`);
      };

      const all = flags.case === undefined ? gpuCases(flags.iterations, flags.refine, flags.refineTolerance, flags.divide) : flags.case.map((text) => customCase(text, flags));
      const cases = all.filter((layerCase) => flags.only === undefined || layerCase.name.includes(flags.only));
      if (cases.length > 0) {
        const { device, info } = await createNodeDevice();
        const refit = { cgIterations: flags.refitIterations, solver: flags.refitSolver };
        const backend = createGpuQuantizeBackend(device, info, () => releaseNodeDevice(device), { refit });
        try {
          say(backend.description);
          for (const layerCase of cases) {
            say(`${layerCase.name}: building the synthetic layer and Hessian`);
            const layer = syntheticLayer(layerCase.rows, layerCase.cols, 2 * layerCase.cols);
            // The first run in a process also compiles the shaders its shapes need (a whole model pays that once,
            // on its first layer); the second runs with them cached, as every later layer of a model does.
            for (const run of flags.warm ? ['cold', 'warm'] : ['cold']) {
              report({
                name: `${layerCase.name}${flags.warm ? ` (${run})` : ''}`,
                device: 'GPU',
                ...(await timeLayer(backend, layer, layerCase.options)),
                target: layerCase.targetSeconds,
                reference: layerCase.rows === 14336 && flags.divide === 1 ? referenceSeconds : undefined,
              });
            }
          }
        } finally {
          backend.destroy();
        }
      }

      // The CPU path (the reference implementation of this toolkit) on a smaller layer, same settings.
      const size = flags.cpuRows;
      const cpuRefine = flags.cpuRefine ?? flags.refine;
      say(`CPU ${size}×${size} v6-k4096, ${flags.cpuIterations} k-means iterations, ${cpuRefine} refinement rounds: building the layer`);
      const cpuOptions: VptqOptions = {
        vectorLength: 6,
        numCentroids: 4096,
        numResidualCentroids: 0,
        ...runOptions(flags.cpuIterations, cpuRefine, flags.refineTolerance),
      };
      report({
        name: `${size}×${size} v6-k4096, ${flags.cpuIterations} k-means iterations, ${cpuRefine} refinement rounds`,
        device: 'CPU (1 thread)',
        ...(await timeLayer(createCpuQuantizeBackend(), syntheticLayer(size, size, 2 * size), cpuOptions)),
      });
      rows.push(['14336×4096 v8-k65536-r256', 'microsoft/VPTQ, published, 1 GPU', referenceSeconds.toFixed(1), 'k-means 130.6, loop 5.6, residual k-means 0.9, loop 5.8', '', '', '']);
      printTable(['layer', 'device', 'seconds', 'phases (s)', 'proxy error', 'target (s)', 'reference s (ratio)'], rows);
    });
}

/** A `--case` entry: `OUTxIN:setting`, at the run's iterations and refinement (not shrunk by `--divide`). */
function customCase(text: string, flags: BenchLayerFlags): LayerCase {
  const match = /^(\d+)x(\d+):(.+)$/.exec(text);
  if (!match) throw new InvalidArgumentError(`--case entries look like 11008x4096:v6-k4096 (got ${text})`);
  const [rows, cols] = [Number(match[1]), Number(match[2])];
  if (!(rows >= 1 && cols >= 1)) throw new InvalidArgumentError(`--case: rows and columns must be at least 1 (got ${text})`);
  const setting = parseVptqSpec('--case', match[3]);
  return {
    name: `${rows}×${cols} ${match[3]}`,
    rows,
    cols,
    options: { ...setting, ...runOptions(flags.iterations, flags.refine, flags.refineTolerance) },
  };
}

function powerOfTwoOption(value: string): number {
  const parsed = integerOption('--divide', 1, 64)(value);
  if ((parsed & (parsed - 1)) !== 0) throw new InvalidArgumentError(`--divide must be a power of two (got ${value})`);
  return parsed;
}

/** Prepares the layer's Hessian and quantizes it on `backend`: seconds in all and by phase, the final proxy error. */
async function timeLayer(
  backend: QuantizeBackend,
  layer: SyntheticLayer,
  options: VptqOptions,
): Promise<{ seconds: number; phases: Record<string, number>; proxyError: number; stages: VptqProxyError; kmeansIterations: string }> {
  const clock = new PhaseClock();
  clock.enter('prepare');
  const prepared = await backend.prepareVptqHessian(layer.hessian, {});
  let result: Awaited<ReturnType<QuantizeBackend['quantizeVptq']>>;
  try {
    result = await backend.quantizeVptq({ data: layer.weight, rows: layer.rows, cols: layer.cols }, prepared, {
      ...options,
      onProgress: (phase) => clock.enter(phase),
    });
  } finally {
    releasePrepared(prepared);
  }
  const { phases, total } = clock.stop();
  const kmeansIterations = result.kmeans.map((run) => run.iterations).join('+');
  return { seconds: total, phases, proxyError: result.proxyError.after, stages: result.proxyError, kmeansIterations };
}
