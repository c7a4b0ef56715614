import type { Command } from 'commander';

/**
 * Parses and runs the CLI. An error prints as `vptq: message` (with `code` when the error has one) and exits
 * with status 1, never with a stack trace for expected failures; set `VPTQ_DEBUG=1` to see the stack.
 */
export async function runCli(program: Command, argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (error) {
    const err = error as Error & { code?: string };
    const code = typeof err.code === 'string' && err.code.startsWith('VPTQ_') ? ` [${err.code}]` : '';
    process.stderr.write(`vptq: ${err.message}${code}\n`);
    if (process.env.VPTQ_DEBUG) process.stderr.write(`${err.stack ?? ''}\n`);
    process.exitCode = 1;
    // A failed command has nothing left to do: connections still retrying in the background (a queue whose Redis
    // went away) must not keep the process alive.
    setTimeout(() => process.exit(), 2000).unref();
  }
}
