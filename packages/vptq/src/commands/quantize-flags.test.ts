import { readFileSync } from 'node:fs';

import { Command } from 'commander';
import { describe, expect, it } from 'vitest';

import { quantizeDefaults } from '../quantize/quantize-defaults';
import { addQuantizeFlags, quantizeFlags, quantizeSettingsFromFlags } from './quantize-flags';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The rows of the README's settings table: flag, option and default, as written. */
function readmeRows(): Map<string, { option: string; defaultValue: string }> {
  const rows = new Map<string, { option: string; defaultValue: string }>();
  for (const match of readme.matchAll(/^\| `(--[^`]+)` \| `([^`]+)` \| `([^`]+)` \|/gm)) rows.set(match[1], { option: match[2], defaultValue: match[3] });
  return rows;
}

describe('quantize flags', () => {
  it('cover every setting of quantizeDefaults exactly once', () => {
    expect(quantizeFlags.map((entry) => entry.key).sort()).toEqual(Object.keys(quantizeDefaults).sort());
  });

  it("match the README's settings table: every flag, its option and its default", () => {
    const rows = readmeRows();
    expect([...rows.keys()]).toEqual(quantizeFlags.map((entry) => entry.flag));
    for (const entry of quantizeFlags) {
      expect(rows.get(entry.flag)).toEqual({ option: entry.key, defaultValue: String(quantizeDefaults[entry.key]) });
    }
  });

  it('parse to the defaults when none is given, and to the given values', () => {
    const parse = (argv: string[]) => quantizeSettingsFromFlags(addQuantizeFlags(new Command().exitOverride()).parse(argv, { from: 'user' }).opts());
    expect(parse([])).toEqual(quantizeDefaults);
    expect(parse(['--vector-len', '4', '--res-centroids', '0', '--no-norm', '--dtype', 'bf16', '--allow-reference-misreads'])).toEqual({
      ...quantizeDefaults,
      vectorLength: 4,
      numResidualCentroids: 0,
      enableNorm: false,
      dtype: 'BF16',
      allowReferenceMisreads: true,
    });
    expect(() => parse(['--centroids', '1'])).toThrow(/--centroids must be an integer in \[2, /);
    expect(parse(['--projections-in-flight', '3']).projectionsInFlight).toBe(3);
    expect(parse(['--projections-in-flight', 'auto']).projectionsInFlight).toBe('auto');
    expect(() => parse(['--projections-in-flight', '9'])).toThrow(/--projections-in-flight must be an integer in \[1, 8\] \(got 9\)/);
  });
});
