import { describeJson as describe } from './describe-json';
import type { LoaderError } from './loader-error';
import type { RopeScaling } from './model-types';

/** The RoPE fields of a {@link LlamaConfig}, as {@link parseRopeConfig} reads them. */
export interface RopeConfig {
  readonly ropeTheta: number;
  readonly ropeScaling?: RopeScaling;
}

const supportedTypes = '"default" or "llama3"';

/**
 * Reads the RoPE base and scaling of a Hugging Face config.json as transformers does. transformers ≥ 5 writes
 * them together as `rope_parameters` (`rope_type`, `rope_theta`, the scaling keys), earlier versions as
 * `rope_scaling` beside a top-level `rope_theta`; transformers takes `rope_scaling or rope_parameters`, and so
 * does this. `rope_type` (or the older `type`) must be `"default"` or `"llama3"`; every other type (linear,
 * dynamic, yarn, longrope, …) is rejected, as is a `partial_rotary_factor` other than 1. Keys a type does not
 * use are ignored, as transformers ignores them. Where a value is given twice (`rope_theta`, llama3's
 * `original_max_position_embeddings`) and the copies differ, transformers versions disagree on which wins, so
 * the config is rejected.
 *
 * @param fail - Builds the loader's error for a field and the rule it breaks.
 * @throws {LoaderError} VPTQ_LOADER_BAD_CONFIG naming the field, what was expected and what it holds.
 */
export function parseRopeConfig(
  json: Record<string, unknown>,
  maxPositionEmbeddings: number,
  fail: (field: string, rule: string) => LoaderError,
): RopeConfig {
  const present = (value: unknown): boolean => value !== undefined && value !== null;
  const field = present(json.rope_scaling) ? 'rope_scaling' : present(json.rope_parameters) ? 'rope_parameters' : undefined;
  const parameters = field === undefined ? {} : json[field];
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) {
    throw fail(field as string, `must be an object or null (got ${describe(parameters)})`);
  }
  const dict = parameters as Record<string, unknown>;
  const at = (key: string): string => (field === undefined ? key : `${field}.${key}`);

  const number = (name: string, value: unknown, rule: (x: number) => boolean, expected: string): number => {
    if (typeof value !== 'number' || !Number.isFinite(value) || !rule(value)) throw fail(name, `must be ${expected} (got ${describe(value)})`);
    return value;
  };
  /** One value that may be given in the dict and at the top level; both copies must agree. */
  const either = (key: string): { readonly name: string; readonly value: unknown } | undefined => {
    const inner = dict[key];
    const outer = json[key];
    if (present(inner) && present(outer) && inner !== outer) {
      throw fail(at(key), `must equal the top-level ${key} when both are given (got ${describe(inner)} and ${describe(outer)})`);
    }
    if (present(inner)) return { name: at(key), value: inner };
    return present(outer) ? { name: key, value: outer } : undefined;
  };

  const theta = either('rope_theta');
  const ropeTheta = theta === undefined ? 10000 : number(theta.name, theta.value, (x) => x > 0, 'a positive number');
  const partial = either('partial_rotary_factor');
  if (partial !== undefined && partial.value !== 1) {
    throw fail(partial.name, `is not supported; RoPE must rotate the whole head (expected 1, got ${describe(partial.value)})`);
  }

  const typeKey = dict.rope_type !== undefined ? 'rope_type' : 'type';
  const type = dict[typeKey] ?? 'default';
  if (type === 'default') return { ropeTheta };
  if (type !== 'llama3') throw fail(at(typeKey), `must be ${supportedTypes}, the supported RoPE types (got ${describe(type)})`);

  const factor = number(at('factor'), dict.factor, (x) => x >= 1, 'a number ≥ 1');
  const lowFreqFactor = number(at('low_freq_factor'), dict.low_freq_factor, (x) => x > 0, 'a positive number');
  const highFreqFactor = number(at('high_freq_factor'), dict.high_freq_factor, (x) => x > lowFreqFactor, `a number > low_freq_factor (${lowFreqFactor})`);
  // transformers ≥ 5 falls back to max_position_embeddings when the original length is not given.
  const original = either('original_max_position_embeddings') ?? { name: at('original_max_position_embeddings'), value: maxPositionEmbeddings };
  const originalMaxPositionEmbeddings = number(original.name, original.value, (x) => Number.isSafeInteger(x) && x >= 1, 'a positive integer');
  return { ropeTheta, ropeScaling: { type: 'llama3', factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings } };
}
