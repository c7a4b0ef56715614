import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import type { FloatTensorDtype } from '@vptq/pack-format';

import { quantizeDefaults } from '../quantize/quantize-defaults';
import type { QuantizeSettings } from '../quantize/quantize-defaults';
import type { QuantizeMethod } from '../quantize/quantize-options';
import { integerOption, numberOption } from './parse-options';

/** One `quantize` setting as a CLI flag. */
export interface QuantizeFlag {
  /** Commander's flag text, e.g. `--vector-len <v>` or `--no-norm`. */
  readonly flag: string;
  /** The option of `quantize` it sets; its default is `quantizeDefaults[key]`. */
  readonly key: keyof QuantizeSettings;
  readonly description: string;
  /** Parses the flag's value (absent for switches). */
  readonly parse?: (value: string) => unknown;
}

/** Every setting of `quantize` as a flag, in `--help` order; `vptq quantize`, `demo` and `bench quantize` share it. */
export const quantizeFlags: readonly QuantizeFlag[] = [
  { flag: '--method <m>', key: 'method', description: 'vptq, or the gptq / rtn scalar baselines', parse: methodOption },
  { flag: '--bits <b>', key: 'bits', description: 'bits per weight of the gptq/rtn baselines', parse: integerOption('--bits', 1, 8) },
  { flag: '--vector-len <v>', key: 'vectorLength', description: 'VPTQ vector length v (output rows per vector)', parse: integerOption('--vector-len', 1) },
  { flag: '--centroids <k>', key: 'numCentroids', description: 'main codebook entries K (power of two)', parse: integerOption('--centroids', 2) },
  {
    flag: '--res-centroids <k>',
    key: 'numResidualCentroids',
    description: 'residual codebook entries Kr (power of two), 0 for none',
    parse: integerOption('--res-centroids', 0),
  },
  {
    flag: '--outlier-percent <p>',
    key: 'outlierPercent',
    description: 'percent of input columns in the outlier codebook, 0 for none',
    parse: numberOption('--outlier-percent', 0, 100),
  },
  { flag: '--outlier-vector-len <v>', key: 'outlierVectorLength', description: 'outlier vector length vo (≥ 2)', parse: integerOption('--outlier-vector-len', 2) },
  { flag: '--outlier-centroids <k>', key: 'numOutlierCentroids', description: 'outlier codebook entries Ko (power of two)', parse: integerOption('--outlier-centroids', 2) },
  { flag: '--groups <g>', key: 'groupNum', description: 'codebooks G per layer', parse: integerOption('--groups', 1) },
  { flag: '--no-norm', key: 'enableNorm', description: 'disable per-column min-max normalization (enable_norm)' },
  { flag: '--no-perm', key: 'enablePerm', description: 'disable the column order by Hessian diagonal (enable_perm)' },
  { flag: '--kmeans-iterations <n>', key: 'kmeansIterations', description: 'most k-means iterations', parse: integerOption('--kmeans-iterations', 1) },
  {
    flag: '--refine-iterations <n>',
    key: 'refineIterations',
    description: 'rounds of closed-form codebook refinement (0 = reference behaviour)',
    parse: integerOption('--refine-iterations', 0, 1000),
  },
  {
    flag: '--refine-tolerance <t>',
    key: 'refineTolerance',
    description: 'stop refining once two rounds lowered the proxy error by less than this fraction (0 = every round)',
    parse: numberOption('--refine-tolerance', 0, 0.999999),
  },
  { flag: '--calib-tokens <n>', key: 'calibrationTokens', description: 'most calibration tokens', parse: integerOption('--calib-tokens', 1) },
  {
    flag: '--calib-window <n>',
    key: 'calibrationWindow',
    description: 'positions per calibration window (capped at the model context)',
    parse: integerOption('--calib-window', 1),
  },
  {
    flag: '--advance <through>',
    key: 'advanceThrough',
    description: "what the calibration activations go through to the next layer: 'original' (reference) or 'quantized' (GPTQ's sequential)",
    parse: choiceOption('--advance', ['original', 'quantized']),
  },
  { flag: '--dtype <d>', key: 'dtype', description: 'codebook and norm storage: f16, bf16 or f32', parse: dtypeOption },
  { flag: '--damp <d>', key: 'damp', description: 'relative Hessian damping', parse: numberOption('--damp', 0, 1) },
  { flag: '--seed <s>', key: 'seed', description: 'seed of every random choice', parse: integerOption('--seed', 0, 0xffffffff) },
  {
    flag: '--device <d>',
    key: 'device',
    description: 'auto (a hardware GPU if present, else the CPU), cpu, or gpu (any WebGPU adapter, software ones included)',
    parse: choiceOption('--device', ['auto', 'cpu', 'gpu']),
  },
  {
    flag: '--projections-in-flight <n>',
    key: 'projectionsInFlight',
    description: 'projections quantized at once: 1–8, or auto (2 on the GPU, 1 on the CPU); above 1 the next layer is calibrated meanwhile; the output is the same',
    parse: inFlightOption,
  },
  {
    flag: '--allow-reference-misreads',
    key: 'allowReferenceMisreads',
    description: 'write settings the reference implementation would decode wrongly (Kr > K, groups with Kr ≠ K), with a warning',
  },
];

/** Adds every {@link quantizeFlags} entry to `command`, with its default from `quantizeDefaults`. */
export function addQuantizeFlags(command: Command): Command {
  for (const entry of quantizeFlags) {
    const option = new Option(entry.flag, entry.description);
    if (entry.parse) option.argParser(entry.parse);
    // `--no-x` switches default to true by themselves; a plain switch is false unless given.
    if (!option.negate) option.default(quantizeDefaults[entry.key]);
    command.addOption(option);
  }
  return command;
}

/** The `quantize` settings of parsed flags (commander's `opts()` of a command given {@link addQuantizeFlags}). */
export function quantizeSettingsFromFlags(flags: Record<string, unknown>): QuantizeSettings {
  const settings: Record<string, unknown> = {};
  for (const entry of quantizeFlags) settings[entry.key] = flags[new Option(entry.flag).attributeName()];
  return settings as unknown as QuantizeSettings;
}

function choiceOption<T extends string>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`${flag} must be ${choices.join(', ')} (got ${value})`);
    return value as T;
  };
}

function inFlightOption(value: string): number | 'auto' {
  if (value === 'auto') return value;
  return integerOption('--projections-in-flight', 1, 8)(value);
}

function methodOption(value: string): QuantizeMethod {
  if (value !== 'vptq' && value !== 'gptq' && value !== 'rtn') throw new InvalidArgumentError(`--method must be vptq, gptq or rtn (got ${value})`);
  return value;
}

function dtypeOption(value: string): FloatTensorDtype {
  const upper = value.toUpperCase();
  if (upper !== 'F16' && upper !== 'BF16' && upper !== 'F32') throw new InvalidArgumentError(`--dtype must be f16, bf16 or f32 (got ${value})`);
  return upper;
}
