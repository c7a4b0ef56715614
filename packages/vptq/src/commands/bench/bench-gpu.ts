import type { Command } from 'commander';
import { benchmarkKernels, benchmarkVqConfigs, defaultBenchmarkConfigs, defaultGemvVariants } from '@vptq/kernels-webgpu/bench';
import type { VqGemvOptions } from '@vptq/kernels-webgpu';
import type { BenchmarkShape } from '@vptq/kernels-webgpu/bench';
import { benchmarkDecode, tinyDecodeShape } from '@vptq/runtime/bench';

import { createNodeDevice, releaseNodeDevice } from '../../create-node-device';
import { printTable } from '../print-table';
import { integerOption } from '../parse-options';

interface VqGemvFlags {
  workgroupSize?: number;
  unroll?: number;
  targetWorkgroups?: number;
  rowsPerWorkgroup?: number;
  kernel?: 'auto' | 'onchip' | 'streaming' | 'lanes';
  fieldsPerLane?: number;
  persistentWorkgroups?: number;
  maxReplicas?: number;
  splits?: number;
}

interface BenchKernelsFlags extends VqGemvFlags {
  sizeDivisor: number;
  iterations: number;
  repeats: number;
  configs?: string[];
  shapes?: string[];
  kernels?: string[];
  gemv?: string[];
  streamPlans?: string[];
  lanesPlans?: string[];
  json?: boolean;
}

interface BenchDecodeFlags extends VqGemvFlags {
  tokens: number;
  quantization: 'v8-k65536' | 'v6-k4096' | 'v8-k256-r256';
  tiny?: boolean;
  breakdown?: boolean;
  vptqOnly?: boolean;
  startPosition: number;
  attentionSplits?: number;
  json?: boolean;
}

/** The fused VQ-GEMV tuning flags shared by both commands. */
function addVqGemvFlags(command: Command): Command {
  return command
    .option('--workgroup-size <n>', 'VQ-GEMV invocations per workgroup (power of two)', integerOption('--workgroup-size', 1))
    .option('--unroll <n>', 'VQ-GEMV word-aligned index chunks per invocation and iteration', integerOption('--unroll', 1))
    .option('--target-workgroups <n>', 'VQ-GEMV workgroups the column split aims at', integerOption('--target-workgroups', 1))
    .option('--rows-per-workgroup <n>', 'VQ-GEMV vector-rows per workgroup, 1 or 2', integerOption('--rows-per-workgroup', 1))
    .option('--kernel <k>', 'VQ-GEMV main pass: streaming (default), auto (on-chip where it applies), onchip or lanes')
    .option('--fields-per-lane <n>', 'lanes VQ-GEMV: columns each lane takes per workgroup (a multiple of 8)', integerOption('--fields-per-lane', 8))
    .option('--persistent-workgroups <n>', 'on-chip VQ-GEMV: persistent workgroups', integerOption('--persistent-workgroups', 1))
    .option('--max-replicas <n>', 'on-chip VQ-GEMV: most copies of each codebook entry in workgroup memory', integerOption('--max-replicas', 1))
    .option('--splits <n>', 'VQ-GEMV column splits per vector-row', integerOption('--splits', 1));
}

function vqGemvOptions(flags: VqGemvFlags): VqGemvOptions {
  return {
    workgroupSize: flags.workgroupSize,
    unroll: flags.unroll,
    targetWorkgroups: flags.targetWorkgroups,
    rowsPerWorkgroup: flags.rowsPerWorkgroup as 1 | 2 | undefined,
    kernel: flags.kernel,
    fieldsPerLane: flags.fieldsPerLane,
    persistentWorkgroups: flags.persistentWorkgroups,
    maxReplicas: flags.maxReplicas,
    splits: flags.splits,
  };
}

/** `--gemv rows,unroll,workgroupSize …`: extra f16 GEMV configurations beside the default and the previous one. */
function parseGemvVariant(text: string) {
  const match = /^(\d+),(\d+),(\d+)$/.exec(text);
  if (!match) throw new Error(`bench kernels: --gemv takes ROWS,UNROLL,WORKGROUPSIZE entries such as 8,2,128 (got ${text})`);
  const [rowsPerWorkgroup, unroll, workgroupSize] = match.slice(1).map(Number);
  return { name: `gemv-f16-r${rowsPerWorkgroup}u${unroll}w${workgroupSize}`, options: { rowsPerWorkgroup, unroll, workgroupSize } };
}

/**
 * `--stream-plans r2,s8,w128,u2 …`: extra streaming VQ-GEMV plans, each a row named `vq-gemv-r2s8w128u2`.
 * Letters: r vector-rows per workgroup (1 or 2), s column splits, w invocations per workgroup, u unroll,
 * t target workgroups of the automatic split; a letter left out keeps the planner's (or the flags') choice.
 */
export function parseStreamPlan(text: string): { name: string; options: VqGemvOptions } {
  const keys = { r: 'rowsPerWorkgroup', s: 'splits', w: 'workgroupSize', u: 'unroll', t: 'targetWorkgroups' } as const;
  const options: Record<string, number> = {};
  for (const entry of text.split(',')) {
    const match = /^([rswut])([1-9]\d*)$/.exec(entry);
    const key = match && keys[match[1] as keyof typeof keys];
    if (!match || !key || key in options) throw new Error(`bench kernels: --stream-plans takes entries such as r2,s8,w128,u2 (letters r s w u t, each once, with a positive integer; got ${text})`);
    options[key] = Number(match[2]);
  }
  if (options.rowsPerWorkgroup !== undefined && options.rowsPerWorkgroup > 2) throw new Error(`bench kernels: --stream-plans: r must be 1 or 2 (got ${text})`);
  return { name: `vq-gemv-${text.replaceAll(',', '')}`, options: options as VqGemvOptions };
}

/**
 * `--lanes-plans f32,w256 …`: extra lanes VQ-GEMV plans, each a row named `vq-gemv-lanes-f32w256`. Letters: f
 * fields per lane (a multiple of 8), w invocations per workgroup, t target workgroups of the automatic choice of f.
 */
export function parseLanesPlan(text: string): { name: string; options: VqGemvOptions } {
  const keys = { f: 'fieldsPerLane', w: 'workgroupSize', t: 'targetWorkgroups' } as const;
  const options: Record<string, number | string> = { kernel: 'lanes' };
  for (const entry of text.split(',')) {
    const match = /^([fwt])([1-9]\d*)$/.exec(entry);
    const key = match && keys[match[1] as keyof typeof keys];
    if (!match || !key || key in options) throw new Error(`bench kernels: --lanes-plans takes entries such as f32,w256 (letters f w t, each once, with a positive integer; got ${text})`);
    options[key] = Number(match[2]);
  }
  return { name: `vq-gemv-lanes-${text.replaceAll(',', '')}`, options: options as VqGemvOptions };
}

function parseShape(text: string): BenchmarkShape {
  const match = /^(\d+)x(\d+)$/.exec(text);
  if (!match) throw new Error(`bench kernels: --shapes takes OUTxIN entries such as 4096x11008 (got ${text})`);
  return { outFeatures: Number(match[1]), inFeatures: Number(match[2]) };
}

/** `vptq bench kernels` and `vptq bench decode`: GPU benchmarks with their baselines measured in the same run. */
export function registerBenchGpu(bench: Command): void {
  const kernels = bench
    .command('kernels')
    .description('fused VQ-GEMV vs our f16 GEMV and the copy bandwidth, at LLaMA-2-7B shapes (WebGPU through Dawn)')
    .option('--size-divisor <n>', 'divide every shape by n (16 for a software adapter)', integerOption('--size-divisor', 1), 1)
    .option('--iterations <n>', 'kernel runs per measurement', integerOption('--iterations', 1), 50)
    .option('--repeats <n>', 'measurements per kernel (median reported)', integerOption('--repeats', 1), 5)
    .option('--configs <names...>', `VPTQ layouts (default: ${defaultBenchmarkConfigs.map((config) => config.name).join(' ')}; also ${benchmarkVqConfigs.slice(defaultBenchmarkConfigs.length).map((config) => config.name).join(' ')})`)
    .option('--shapes <shapes...>', 'weight shapes OUTxIN (default: 4096x4096 11008x4096 4096x11008)')
    .option('--kernels <kernels...>', 'VQ-GEMV kernels to measure, each a row: streaming onchip lanes (default all three)')
    .option('--gemv <variants...>', 'extra f16 GEMV configurations ROWS,UNROLL,WORKGROUPSIZE (e.g. 8,2,128 4,4,256)')
    .option(
      '--stream-plans <plans...>',
      'extra streaming VQ-GEMV plans, each a row after the planned one (vq-gemv-r2s8w128u2): comma-separated r<rows per workgroup, 1|2> s<column splits> w<invocations per workgroup> u<unroll> t<target workgroups>, letters left out as planned (e.g. r1,s1,w128,u4 r2,s4 w256)',
    )
    .option('--lanes-plans <plans...>', 'extra lanes VQ-GEMV plans, each a row (vq-gemv-lanes-f32w256): comma-separated f<fields per lane> w<invocations per workgroup> t<target workgroups> (e.g. f16 f64,w128)')
    .option('--json', 'print JSON');
  addVqGemvFlags(kernels).action(async (flags: BenchKernelsFlags) => {
      const configs = flags.configs?.map((name) => {
        const config = benchmarkVqConfigs.find((candidate) => candidate.name === name);
        if (!config) throw new Error(`bench kernels: unknown --configs entry ${name} (known: ${benchmarkVqConfigs.map((known) => known.name).join(', ')})`);
        return config;
      });
      const kernels = flags.kernels?.map((kernel) => {
        if (kernel !== 'streaming' && kernel !== 'onchip' && kernel !== 'lanes') throw new Error(`bench kernels: --kernels takes streaming, onchip and/or lanes (got ${kernel})`);
        return kernel;
      });
      const { device, info } = await createNodeDevice();
      try {
        const result = await benchmarkKernels(device, {
          configs,
          shapes: flags.shapes?.map(parseShape),
          vqGemv: vqGemvOptions(flags),
          vqGemvKernels: kernels,
          vqGemvPlans: [...(flags.streamPlans ?? []).map(parseStreamPlan), ...(flags.lanesPlans ?? []).map(parseLanesPlan)],
          gemvVariants: flags.gemv ? [...defaultGemvVariants, ...flags.gemv.map(parseGemvVariant)] : undefined,
          sizeDivisor: flags.sizeDivisor,
          iterations: flags.iterations,
          repeats: flags.repeats,
          onRow: (row) => process.stderr.write(`${row.kernel} ${row.shape} ${row.config}: ${row.microseconds.toFixed(1)} µs\n`),
        });
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ adapter: info.adapterInfo, ...result })}\n`);
          return;
        }
        process.stdout.write(`adapter: ${info.adapterInfo.vendor} ${info.adapterInfo.device} ${info.adapterInfo.description}; timing: ${result.timing}; copy ${result.copyGbPerSecond.toFixed(0)} GB/s\n`);
        printTable(
          ['kernel', 'shape', 'config', 'µs', 'MB moved', 'GB/s', 'of copy BW', '× f16 GEMV', 'plan'],
          result.rows.map((row) => [
            row.kernel,
            row.shape,
            row.config,
            row.microseconds.toFixed(1),
            (row.bytesMoved / 1e6).toFixed(2),
            row.gbPerSecond.toFixed(0),
            `${(row.fractionOfCopyBandwidth * 100).toFixed(1)}%`,
            Number.isNaN(row.speedupOverF16Gemv) ? '' : row.speedupOverF16Gemv.toFixed(2),
            row.plan ?? '',
          ]),
        );
        for (const skip of result.skipped) process.stdout.write(`skipped ${skip.kernel} ${skip.shape} ${skip.config}: ${skip.reason}\n`);
      } finally {
        releaseNodeDevice(device);
      }
    });

  const decode = bench
    .command('decode')
    .description('tokens/s of a LLaMA-2-7B-shaped model with synthetic weights: 2-bit VPTQ vs fp16, one submit per token')
    .option('--tokens <n>', 'tokens decoded per variant', integerOption('--tokens', 1), 128)
    .option('--quantization <q>', 'v8-k65536, v6-k4096 or v8-k256-r256', 'v8-k65536')
    .option('--tiny', 'a tiny shape (2 layers, 256 wide) for a software adapter')
    .option('--breakdown', 'also time the linears alone, each kernel alone and the CPU recording/submit')
    .option('--vptq-only', 'skip the fp16 baseline (tuning runs only; ratios need both)')
    .option('--start-position <n>', 'prefill a prompt of this many tokens first (untimed), so decode attends over a long context', integerOption('--start-position', 0), 0)
    .option('--attention-splits <n>', 'KV-cache splits per attention head, 1-64 (default planned for the context)', integerOption('--attention-splits', 1, 64))
    .option('--json', 'print JSON');
  addVqGemvFlags(decode).action(async (flags: BenchDecodeFlags) => {
    if (flags.quantization !== 'v8-k65536' && flags.quantization !== 'v6-k4096' && flags.quantization !== 'v8-k256-r256') {
      throw new Error(`bench decode: --quantization must be v8-k65536, v6-k4096 or v8-k256-r256 (got ${String(flags.quantization)})`);
    }
    const { device, info } = await createNodeDevice();
    try {
      const result = await benchmarkDecode(device, {
        tokens: flags.tokens,
        quantization: flags.quantization,
        shape: flags.tiny ? tinyDecodeShape : undefined,
        breakdown: flags.breakdown === true,
        variants: flags.vptqOnly ? ['vptq'] : undefined,
        startPosition: flags.startPosition,
        attentionSplits: flags.attentionSplits,
        vqGemv: vqGemvOptions(flags),
        onProgress: (message) => process.stderr.write(`${message}\n`),
      });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ adapter: info.adapterInfo, ...result })}\n`);
        return;
      }
      process.stdout.write(`adapter: ${info.adapterInfo.vendor} ${info.adapterInfo.device} ${info.adapterInfo.description}; shape ${JSON.stringify(result.shape)}\n`);
      const fp16 = result.rows.find((row) => row.variant === 'fp16');
      printTable(
        ['variant', 'linear bits/w', 'tokens/s', 'ms/token', 'GPU ms/token', 'GPU memory GiB', 'dispatches/token', 'attention splits', '× fp16'],
        result.rows.map((row) => [
          row.label,
          row.linearBitsPerWeight.toFixed(2),
          row.tokensPerSecond.toFixed(1),
          row.msPerToken.toFixed(2),
          row.breakdown?.gpuMsPerToken?.toFixed(2) ?? '',
          (row.gpuMemoryBytes / 2 ** 30).toFixed(2),
          row.dispatchesPerToken,
          row.attentionSplits,
          fp16 ? (row.tokensPerSecond / fp16.tokensPerSecond).toFixed(2) : '',
        ]),
      );
      for (const row of result.rows) {
        const split = row.breakdown;
        if (!split) continue;
        process.stdout.write(
          `\n${row.label}: per token, all dispatches back to back ${split.allMsPerToken.toFixed(2)} ms (CPU: uniforms ${split.positionMsPerToken.toFixed(2)}, recording ${split.recordMsPerToken.toFixed(2)}, finish+submit ${split.submitMsPerToken.toFixed(2)} ms), projections only ${split.linearMsPerToken.toFixed(2)} ms, the rest only ${split.otherMsPerToken.toFixed(2)} ms\n`,
        );
        printTable(
          ['kernel', 'dispatches/token', 'ms/token alone'],
          split.kernels.map((kernel) => [kernel.label, kernel.dispatches, kernel.msPerToken.toFixed(3)]),
        );
      }
    } finally {
      releaseNodeDevice(device);
    }
  });
}
