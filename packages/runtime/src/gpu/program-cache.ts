import type { ForwardProgram, ProgramTail } from './forward-program';

/** Recorded forward programs by window size and output kind, least recently used evicted first. */
export interface ProgramCache {
  /** The program for `tokens` positions ending in `tail`, built on first use. */
  get(tokens: number, tail: ProgramTail): Promise<ForwardProgram>;
  /** Destroys every program (those still being built once they are). */
  destroy(): void;
}

/**
 * A cache of at most `limit` programs (besides the `pinned` ones, which are never evicted): a window of a new size
 * costs one recording, and a model evaluated with many window sizes keeps bounded memory (every program owns
 * its uniforms and bind groups).
 *
 * @param build - records the program; a failed build is not cached.
 */
export function createProgramCache(
  build: (tokens: number, tail: ProgramTail) => Promise<ForwardProgram>,
  options: { readonly limit: number; readonly pinned: readonly string[] },
): ProgramCache {
  const programs = new Map<string, Promise<ForwardProgram>>();
  const pinned = new Set(options.pinned);
  const release = (program: Promise<ForwardProgram>): void => void program.then((built) => built.destroy(), () => undefined);
  return {
    get(tokens, tail) {
      const key = `${tokens}:${tail}`;
      let program = programs.get(key);
      if (program) {
        // Re-insert: Map order is the recency order.
        programs.delete(key);
        programs.set(key, program);
        return program;
      }
      program = build(tokens, tail);
      programs.set(key, program);
      program.catch(() => programs.delete(key));
      for (const [oldKey, old] of programs) {
        if (programs.size <= options.limit) break;
        if (pinned.has(oldKey)) continue;
        programs.delete(oldKey);
        release(old);
      }
      return program;
    },
    destroy() {
      for (const program of programs.values()) release(program);
      programs.clear();
    },
  };
}
