// The benchmark's JSON, as scripts read it (bench/README.md): each whole-network row names
// every side's ms per image, null for a side not run. One small run: batch 1, one repeat,
// ONNX Runtime's CPU sides (its WebGPU side takes 30-90 s to start on lavapipe).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'facegpu.js');

it('bench --json: whole-network rows carry ours, tfjs and ONNX Runtime ms per image, null where a side did not run', async () => {
  const args = ['bench', '--batches', '1', '--repeats', '1', '--gpu-repeats', '0', '--no-kernels', '--no-wasm', '--no-training-work', '--ort', 'wasm,node', '--json', '--no-save'];
  const { stdout } = await run('node', [CLI, ...args], { timeout: 300_000, maxBuffer: 16 << 20 });
  const [row, ...more] = JSON.parse(stdout).endToEnd;
  expect(more).toEqual([]);
  expect(row.batch).toBe(1);
  for (const side of ['oursMsPerImage', 'tfjsWebgpuMsPerImage', 'ortWasmMsPerImage', 'ortNodeMsPerImage']) expect(row[side], side).toBeGreaterThan(0);
  expect(row.tfjsWasmMsPerImage).toBeNull();
  expect(row.ortWebgpuMsPerImage).toBeNull();
  for (const [side, cosine] of Object.entries(row.minCosine as Record<string, number>)) expect(cosine, side).toBeGreaterThanOrEqual(0.9999);
  expect(Object.keys(row.minCosine).sort()).toEqual(['ortNode', 'ortWasm', 'tfjsWebgpu']);
});
