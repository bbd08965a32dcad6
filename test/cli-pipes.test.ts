// A closed pipe stops nothing (src/cli/program.ts, outlivePipes): a command whose reader goes
// away (`facegpu ... 2>&1 | head -1`) finishes its work and exits as it would have, its later
// output dropped. Before, the first write after the reader had gone crashed the process with
// EPIPE and a stack trace, and an enrolment piped that way was lost.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'facegpu-pipes-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// A command in the CLI's harness: lines to stdout and stderr over a few turns of the event loop
// (as progress and results are written while work goes on), then its work's result, a file.
const COMMAND = join(tmp, 'command.mts');
writeFileSync(
  COMMAND,
  `import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
const { Command } = createRequire(${JSON.stringify(join(root, 'package.json'))})('commander');
import { runCommandLine } from ${JSON.stringify(pathToFileURL(join(root, 'src/cli/program.ts')).href)};
const program = new Command();
program.command('work').argument('<done>').action(async (done) => {
  for (let i = 0; i < 200; i++) {
    console.log('result line ' + i);
    process.stderr.write('progress ' + i + '\\n');
    await new Promise((r) => setTimeout(r, 2));
  }
  writeFileSync(done, 'saved');
});
runCommandLine(program);
`,
);

function runReadingOneLine(done: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', COMMAND, 'work', done], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  // Like `| head -1`: the first chunk read, then both pipes closed while the command writes on.
  child.stdout.once('data', () => {
    child.stdout.destroy();
    child.stderr.destroy();
  });
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((r) => child.on('close', (code) => r({ code, stderr })));
}

describe('a closed pipe', () => {
  it('lets the command finish its work and exit 0, without a stack trace', async () => {
    const done = join(tmp, 'done');
    const { code, stderr } = await runReadingOneLine(done);
    expect(stderr).not.toMatch(/EPIPE|at /);
    expect(code).toBe(0);
    expect(existsSync(done)).toBe(true);
  });
});
