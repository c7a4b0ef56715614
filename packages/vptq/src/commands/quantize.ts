import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';

import { quantize } from '../quantize/quantize-model';
import type { QuantizeEvent, QuantizeMethod } from '../quantize/quantize-options';
import { createProgressGroup } from '../progress';
import { integerOption, numberOption } from './parse-options';

interface QuantizeFlags {
  model: string;
  tokenizer?: string;
  calib: string;
  out: string;
  method: QuantizeMethod;
  bits: number;
  vectorLen: number;
  centroids: number;
  resCentroids: number;
  outlierPercent: number;
  outlierVectorLen: number;
  outlierCentroids: number;
  groups: number;
  norm: boolean;
  perm: boolean;
  kmeansIterations: number;
  refineIterations: number;
  calibTokens: number;
  dtype: 'F16' | 'BF16' | 'F32';
  seed: number;
  overwrite?: boolean;
  json?: boolean;
}

function methodOption(value: string): QuantizeMethod {
  if (value !== 'vptq' && value !== 'gptq' && value !== 'rtn') throw new InvalidArgumentError(`--method must be vptq, gptq or rtn (got ${value})`);
  return value;
}

function dtypeOption(value: string): 'F16' | 'BF16' | 'F32' {
  const upper = value.toUpperCase();
  if (upper !== 'F16' && upper !== 'BF16' && upper !== 'F32') throw new InvalidArgumentError(`--dtype must be f16, bf16 or f32 (got ${value})`);
  return upper;
}

/** `vptq quantize`: quantize every decoder linear and write a complete Hugging Face directory. */
export function registerQuantize(program: Command): void {
  program
    .command('quantize')
    .description('quantize a model with VPTQ (or the GPTQ/RTN baselines); resumable, writes a Hugging Face directory')
    .requiredOption('-m, --model <path>', 'llama2.c .bin or Hugging Face Llama-family directory')
    .option('-t, --tokenizer <path>', 'tokenizer (default: found beside the model)')
    .requiredOption('--calib <file>', 'calibration text (UTF-8)')
    .requiredOption('-o, --out <dir>', 'output directory')
    .option('--method <m>', 'vptq, gptq or rtn', methodOption, 'vptq')
    .option('--bits <b>', 'bits per weight of the gptq/rtn baselines', integerOption('--bits', 1, 8), 2)
    .option('--vector-len <v>', 'VPTQ vector length (output rows per vector)', integerOption('--vector-len', 1), 4)
    .option('--centroids <k>', 'main codebook entries (power of two)', integerOption('--centroids', 2), 256)
    .option('--res-centroids <k>', 'residual codebook entries (power of two), 0 for none', integerOption('--res-centroids', 0), 0)
    .option('--outlier-percent <p>', 'percent of input columns in the outlier codebook', numberOption('--outlier-percent', 0, 100), 0)
    .option('--outlier-vector-len <v>', 'outlier vector length', integerOption('--outlier-vector-len', 1), 4)
    .option('--outlier-centroids <k>', 'outlier codebook entries (power of two)', integerOption('--outlier-centroids', 2), 256)
    .option('--groups <g>', 'codebooks per layer', integerOption('--groups', 1), 1)
    .option('--no-norm', 'disable per-column min-max normalization (enable_norm)')
    .option('--no-perm', 'disable the column order by Hessian diagonal (enable_perm)')
    .option('--kmeans-iterations <n>', 'most k-means iterations', integerOption('--kmeans-iterations', 1), 100)
    .option('--refine-iterations <n>', 'rounds of closed-form codebook refinement (0 = reference behaviour)', integerOption('--refine-iterations', 0, 1000), 16)
    .option('--calib-tokens <n>', 'most calibration tokens', integerOption('--calib-tokens', 1), 65536)
    .option('--dtype <d>', 'codebook and norm storage: f16, bf16 or f32', dtypeOption, 'F16' as const)
    .option('--seed <s>', 'seed of every random choice', integerOption('--seed', 0, 0xffffffff), 0)
    .option('--overwrite', 'replace an existing output directory')
    .option('--json', 'print the result as JSON')
    .action((flags: QuantizeFlags) => {
      const started = performance.now();
      const bars = createQuantizeProgress();
      const result = quantize({
        model: flags.model,
        tokenizer: flags.tokenizer,
        calibration: flags.calib,
        out: flags.out,
        method: flags.method,
        bits: flags.bits,
        vectorLength: flags.vectorLen,
        centroids: flags.centroids,
        residualCentroids: flags.resCentroids,
        outlierPercent: flags.outlierPercent,
        outlierVectorLength: flags.outlierVectorLen,
        outlierCentroids: flags.outlierCentroids,
        groups: flags.groups,
        norm: flags.norm,
        perm: flags.perm,
        kmeansIterations: flags.kmeansIterations,
        refineIterations: flags.refineIterations,
        calibrationTokens: flags.calibTokens,
        dtype: flags.dtype,
        seed: flags.seed,
        overwrite: flags.overwrite === true,
        onEvent: bars.onEvent,
      });
      bars.stop();
      const seconds = (performance.now() - started) / 1000;
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ ...result, seconds })}\n`);
        return;
      }
      const meanProxy = result.projections.reduce((sum, p) => sum + p.proxyError, 0) / result.projections.length;
      process.stdout.write(
        `wrote ${result.out} (${result.method}): ${result.indexBitsPerWeight.toFixed(3)} index bits/weight, ` +
          `${result.totalBitsPerWeight.toFixed(3)} total bits/weight, mean proxy error ${meanProxy.toExponential(3)}, ` +
          `${result.projections.length} linears, ${result.calibrationTokens} calibration tokens` +
          `${result.resumedLayers > 0 ? `, ${result.resumedLayers} layers resumed` : ''}, ${seconds.toFixed(1)} s\n`,
      );
    });
}

/** Bars for the calibration pass, the layers, and the k-means / column loop of the linear being quantized. */
function createQuantizeProgress(): { onEvent: (event: QuantizeEvent) => void; stop: () => void } {
  const group = createProgressGroup();
  return {
    onEvent(event) {
      switch (event.type) {
        case 'log':
          process.stderr.write(`${event.message}\n`);
          break;
        case 'calibration':
          group.update('calibration', 'calibration tokens (Hessians)', event.doneTokens, event.totalTokens);
          break;
        case 'layer':
          group.update('layers', `layer ${event.layer + 1}/${event.layers}${event.resumed ? ' (resumed)' : ''}`, event.layer, event.layers);
          break;
        case 'linear':
          group.update('linear', `${event.name.replace(/^model\.layers\./, '')} ${event.phase}`, Math.round(event.fraction * 1000), 1000);
          break;
      }
    },
    stop: () => group.stop(),
  };
}
