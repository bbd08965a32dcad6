// Checkpoints survive kill -9: the model directory is only ever replaced whole, so a training
// killed at any moment (here: while a new checkpoint is being written) leaves the last good
// one, loadable, and nothing partial once recovered.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoverDir } from '../src/atomic-fs.ts';
import { loadModelDir } from '../src/train/model-dir-node.ts';
import { CLI, orlSubset } from './helpers/train-data.ts';

let tmp: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-kill-'));
  // Loading a head only needs tfjs' CPU backend here.
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hidden = (dir: string, name: string) => readdirSync(dir).filter((n) => n.startsWith(`.${name}.`));
/** A file's text, or null while it is absent (the instant a checkpoint is swapped in). */
const readIfThere = (file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
};

async function expectCompleteCheckpoint(out: string): Promise<void> {
  const { head, meta } = await loadModelDir(out); // recovers first, then checks every file
  expect(meta.labels).toEqual(['s1', 's2', 's3']);
  expect(meta.metrics.bestEpoch).toBeGreaterThanOrEqual(1);
  expect(meta.metrics.history.at(-1)?.improved).toBe(true);
  expect(head.outputs[0].shape).toEqual([null, 3]);
  head.dispose();
  expect(readdirSync(out).sort()).toEqual(['facegpu.json', 'model.json', 'weights.bin']);
  expect(hidden(join(out, '..'), 'model')).toEqual([]);
}

describe('kill -9 during training', () => {
  it('leaves the last complete checkpoint, even when killed in the middle of writing one', async () => {
    const data = orlSubset(join(tmp, 'data'), 3, 4);
    const out = join(tmp, 'model');
    const child = spawn(process.execPath, [CLI, 'train', data, '--out', out, '--epochs', '100000', '--patience', '100000', '--validation-split', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    try {
      // Wait for a first checkpoint, then for the moment a later one is being written.
      const deadline = Date.now() + 240_000;
      while (!existsSync(join(out, 'facegpu.json'))) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no checkpoint appeared:\n${log}`);
        await sleep(20);
      }
      const first = readFileSync(join(out, 'facegpu.json'), 'utf8');
      let writing = false;
      while (!writing) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no second checkpoint:\n${log}`);
        const now = readIfThere(join(out, 'facegpu.json'));
        writing = hidden(tmp, 'model').some((n) => n.startsWith('.model.tmp-')) && now !== null && now !== first;
        if (!writing) await sleep(1);
      }
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    expect(child.signalCode).toBe('SIGKILL');
    // The killed writer left side folders beside the model, never a partial model: once
    // recovered (the kill may fall between the two renames of a swap) the model is complete.
    await expectCompleteCheckpoint(out);
    expect(readdirSync(tmp).filter((n) => !n.startsWith('.')).sort()).toEqual(['data', 'model']);
    expect(log).toMatch(/epoch \d+\/100000  loss/);
  });

  it('recovers the set-aside directory if killed between moving the old one out and the new one in', async () => {
    const src = join(tmp, 'model');
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const target = join(tmp, 'model2');
    const old = join(tmp, `.model2.old-${dead}-${Date.now()}-0`);
    const half = join(tmp, `.model2.tmp-${dead}-${Date.now()}-1`);
    cpSync(src, old, { recursive: true });
    cpSync(src, half, { recursive: true });
    rmSync(join(half, 'weights.bin'));
    expect(existsSync(target)).toBe(false);
    await recoverDir(target);
    expect(hidden(tmp, 'model2')).toEqual([]);
    const { meta } = await loadModelDir(target);
    expect(meta.labels).toEqual(['s1', 's2', 's3']);
  });
});
