// Ctrl-C (SIGINT) or SIGTERM during `facegpu train`, sent to a real child process: the run
// stops after the epoch under way, waits for its checkpoint writes, says which epoch the model
// folder holds, and exits 128 + the signal's number. Before, the process died with a
// checkpoint still being written in the background, and the folder kept an older epoch than
// the last one shown, silently. Also: a warning about the data folder is told once.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORL } from './helpers/faces.ts';
import { CLI, orlSubset } from './helpers/train-data.ts';

let tmp: string;
let data: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-signal-'));
  data = orlSubset(join(tmp, 'data'), 3, 4);
  // A person of one photo: none held back, which train warns about.
  mkdirSync(join(data, 's4'));
  copyFileSync(join(ORL, 's4', '1.pgm'), join(data, 's4', '1.pgm'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Train without end, send `signal` once epoch `at` is shown, and wait for the exit. */
async function trainStopped(out: string, signal: NodeJS.Signals, at: number) {
  const child = spawn(process.execPath, [CLI, 'train', data, '--out', out, '--epochs', '100000', '--patience', '100000', '--crop', 'none'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => {
    stdout += d;
    if (!sent && new RegExp(`^epoch ${at}/`, 'm').test(stdout)) {
      sent = true;
      child.kill(signal);
    }
  });
  await new Promise<void>((r) => child.on('exit', () => r()));
  return { code: child.exitCode, signal: child.signalCode, stdout, stderr, sent };
}

describe('train stopped by a signal', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s: ends after the epoch under way, the folder holds the best epoch shown, exit %i', async (signal, status) => {
    const out = join(tmp, `model-${signal}`);
    const r = await trainStopped(out, signal, 3);
    expect(r.sent, r.stderr).toBe(true);
    expect({ code: r.code, signal: r.signal }, r.stderr).toEqual({ code: status, signal: null });
    const told = r.stderr.match(/^facegpu: stopped after epoch (\d+) of 100000; (.*) holds epoch (\d+), the best so far \(val_loss ([\d.]+)\); the same command again trains anew from epoch 1 \(a run is not resumed\)$/m);
    expect(told, r.stderr).not.toBeNull();
    const [, ran, folder, best, valLoss] = told!;
    expect(folder).toBe(out);
    // Every epoch run was shown, and the one kept is the best of them.
    const shown = [...r.stdout.matchAll(/^epoch (\d+)\/100000 .* val_loss ([\d.]+) /gm)].map((m) => ({ epoch: Number(m[1]), valLoss: Number(m[2]) }));
    expect(shown.map((e) => e.epoch)).toEqual(Array.from({ length: Number(ran) }, (_, i) => i + 1));
    expect(Number(ran)).toBeGreaterThanOrEqual(3);
    expect(Math.min(...shown.map((e) => e.valLoss))).toBe(Number(valLoss));
    // On disk: that epoch's checkpoint, complete, marked unfinished; no side folders or lock left.
    const meta = JSON.parse(readFileSync(join(out, 'facegpu.json'), 'utf8'));
    expect(meta.metrics).toMatchObject({ status: 'training', bestEpoch: Number(best), epochsRun: Number(best) });
    expect(meta.metrics.valLoss.toFixed(4)).toBe(valLoss);
    expect(readdirSync(out).sort()).toEqual(['facegpu.json', 'model.json', 'weights.bin']);
    expect(readdirSync(tmp).filter((n) => n.startsWith(`.model-${signal}`))).toEqual([]);
    expect(r.stderr).toContain(`facegpu: stopping after this epoch and its checkpoint (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to stop at once)`);
    // The data folder is read twice (checked before the GPU starts, then trained on): its warning once.
    expect(r.stderr.split(`${join(data, 's4')}: only 1 photo, so none is held back`).length - 1).toBe(1);
  });
});
