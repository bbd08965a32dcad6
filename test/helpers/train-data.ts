// Small training folders for the train-* tests, copied from ../shared/datasets into a
// temporary folder, and a runner for the facegpu CLI.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ORL } from './faces.ts';

export const CLI = join(import.meta.dirname, '..', '..', 'bin', 'facegpu.js');

/** <dir>/s<k>/<i>.pgm for the first `people` ORL subjects and their first `perPerson` images. */
export function orlSubset(dir: string, people: number, perPerson: number): string {
  for (let p = 1; p <= people; p++) {
    mkdirSync(join(dir, `s${p}`), { recursive: true });
    for (let i = 1; i <= perPerson; i++) copyFileSync(join(ORL, `s${p}`, `${i}.pgm`), join(dir, `s${p}`, `${i}.pgm`));
  }
  return dir;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `facegpu <args>`; never throws on a non-zero exit. */
export async function facegpu(args: string[], timeoutMs = 600_000): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { timeout: timeoutMs, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
