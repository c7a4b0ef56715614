import { readFileSync, writeFileSync } from 'node:fs';

import { expect } from 'vitest';

import { LoaderError } from '../loader-error';

/**
 * Test helper: runs `action`, expects it to throw a {@link LoaderError} whose fields include `expected` and whose
 * message matches `message` (when given), and returns the error for further checks.
 */
export function expectLoaderError(action: () => unknown, expected: Record<string, unknown>, message?: RegExp): LoaderError {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(LoaderError);
  expect(caught).toMatchObject(expected);
  if (message) expect((caught as Error).message).toMatch(message);
  return caught as LoaderError;
}

/**
 * Test helper for the seeded fuzz tests: runs `action` on a mutated input and returns `'ok'` or the code of the
 * {@link LoaderError} it threw, whose message must name `path`; any other error fails the test with `context`
 * (the seed and mutation) so the case can be replayed. `check` adds assertions on the error.
 */
export function fuzzOutcome(context: string, path: string, action: () => void, check?: (error: LoaderError) => void): string {
  try {
    action();
    return 'ok';
  } catch (error) {
    if (!(error instanceof LoaderError)) {
      throw new Error(`${context} threw a non-LoaderError: ${String(error)}`, { cause: error });
    }
    expect(error.message).toContain(path);
    check?.(error);
    return error.code;
  }
}

/**
 * Test helper for the fuzz tests: every mutation kind must have failed at least once (`counts` is keyed
 * `${mutation} ${outcome}`), or the fuzz does not reach the checks it is meant to exercise.
 */
export function expectEveryMutationFails(counts: ReadonlyMap<string, number>, mutations: readonly string[]): void {
  for (const mutation of mutations) {
    const failures = [...counts].filter(([key]) => key.startsWith(mutation) && !key.endsWith(' ok'));
    expect(failures.length, `${mutation}: ${JSON.stringify([...counts])}`).toBeGreaterThan(0);
  }
}

/** Test helper: rewrites the JSON file at `path` through `edit`. */
export function editJsonFile(path: string, edit: (json: Record<string, any>) => void): void {
  const json = JSON.parse(readFileSync(path, 'utf8'));
  edit(json);
  writeFileSync(path, JSON.stringify(json));
}
