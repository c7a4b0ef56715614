import { InvalidArgumentError } from 'commander';

/** Commander parser for an integer option within [min, max]. */
export function integerOption(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}] (got ${value})`);
    }
    return parsed;
  };
}

/** Commander parser for a finite number option within [min, max]. */
export function numberOption(name: string, min: number, max = Number.POSITIVE_INFINITY) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`${name} must be a number in [${min}, ${max}] (got ${value})`);
    }
    return parsed;
  };
}

/** Commander parser for `cpu` | `gpu`. */
export function deviceOption(value: string): 'cpu' | 'gpu' {
  if (value !== 'cpu' && value !== 'gpu') throw new InvalidArgumentError(`--device must be cpu or gpu (got ${value})`);
  return value;
}
