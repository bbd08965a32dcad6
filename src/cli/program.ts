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

/** Parse the process's arguments and run; a failure is one `facegpu: ...` line and exit code 1. */
export function runCommandLine(program: Command): void {
  program.parseAsync(process.argv).catch((err: unknown) => {
    console.error(`facegpu: ${cliMessage(err)}`);
    process.exitCode = 1;
  });
}
