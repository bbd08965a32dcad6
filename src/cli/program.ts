// What every facegpu command line shares: the global --adapter flag and one line on failure.
// Kept apart from main.ts (which registers every command, image decoding included) so that a
// program with a few of the commands wires them the same way: the GPU-machine kit's bundle of
// `bench` and `tune` (scripts/device-kit.mjs).
import type { Command } from 'commander';
import { cliMessage } from './remedies.ts';

/** The global `--adapter` flag (default: FACEGPU_ADAPTER); commands read it as `program.opts().adapter`. */
export function withAdapterOption(program: Command): Command {
  return program.option('--adapter <name>', 'WebGPU adapter: auto, lavapipe, swiftshader, or part of an adapter name', process.env.FACEGPU_ADAPTER);
}

/**
 * A closed pipe stops nothing. When what reads our output goes away (`facegpu ... | head`), a
 * write fails with EPIPE, and Node's default is to crash with a stack trace at the next
 * write; piped together with stderr (`2>&1 | head`), that crash came from a progress line in
 * the middle of an enrolment, and its work was lost. Now what is written after the reader has
 * gone is dropped, and the command finishes its work and exits as it would have.
 */
function outlivePipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
}

/** Parse the process's arguments and run; a failure is one `facegpu: ...` line and exit code 1. */
export function runCommandLine(program: Command): void {
  outlivePipes();
  program.parseAsync(process.argv).catch((err: unknown) => {
    console.error(`facegpu: ${cliMessage(err)}`);
    process.exitCode = 1;
  });
}
