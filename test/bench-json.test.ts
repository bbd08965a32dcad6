// The benchmark's JSON, as scripts read it (bench/README.md): each whole-network row names
// every side's ms per image, null for a side not run. One small run: batch 1, one repeat,
// ONNX Runtime's CPU sides (its WebGPU side takes 30-90 s to start on lavapipe).
// And the stem's kernel row: the kernel the engine runs, on the input it reads (bytes for the
// stem that reads the 8-bit input), agreeing with tfjs-webgpu.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'facegpu.js');

it('bench --json: whole-network rows carry ours, tfjs and ONNX Runtime ms per image, null where a side did not run', async () => {
  const args = ['bench', '--batches', '1', '--repeats', '1', '--gpu-repeats', '0', '--no-kernels', '--no-wasm', '--no-training-work', '--ort', 'wasm,node', '--json', '--no-save'];
  const { stdout } = await run('node', [CLI, ...args], { timeout: 300_000, maxBuffer: 16 << 20 });
  const result = JSON.parse(stdout);
  // On a CPU adapter the results name the CPU under it too (ratios move with it, bench/README.md).
  expect(result.adapter.host).toMatch(/^.+; \d+ cores/);
  const [row, ...more] = result.endToEnd;
  expect(more).toEqual([]);
  expect(row.batch).toBe(1);
  for (const side of ['oursMsPerImage', 'tfjsWebgpuMsPerImage', 'ortWasmMsPerImage', 'ortNodeMsPerImage']) expect(row[side], side).toBeGreaterThan(0);
  expect(row.tfjsWasmMsPerImage).toBeNull();
  expect(row.ortWebgpuMsPerImage).toBeNull();
  for (const [side, cosine] of Object.entries(row.minCosine as Record<string, number>)) expect(cosine, side).toBeGreaterThanOrEqual(0.9999);
  expect(Object.keys(row.minCosine).sort()).toEqual(['ortNode', 'ortWasm', 'tfjsWebgpu']);
});

it('bench --only stem --json: the stem row runs the kernel the engine runs for the stem, and agrees with tfjs-webgpu', async () => {
  const args = ['bench', '--only', 'stem', '--kernel-batch', '1', '--kernel-repeats', '1', '--no-end-to-end', '--no-training-work', '--json', '--no-save'];
  const { stdout } = await run('node', [CLI, ...args], { timeout: 300_000, maxBuffer: 16 << 20 });
  const out = JSON.parse(stdout);
  const [row, ...more] = out.kernels;
  expect(more).toEqual([]);
  expect(row.kind).toBe('stem');
  // "conv3x3_rgb8.wgsl (WG=8,TP=4,...)" against the engine's "conv3x3_rgb8(ACT=2,...)": the same shader and constants.
  const parse = (name: string, constants: string) => `${name}(${constants.split(',').sort().join(',')})`;
  const [, shader, constants] = /^(\w+)\.wgsl \((.*)\)$/.exec(row.shader)!;
  const [, engineShader, engineConstants] = /^(\w+)\((.*)\)/.exec(out.settings.layerKernels['1'][0].kernel)!;
  expect(parse(shader, constants)).toBe(parse(engineShader, engineConstants));
  // Whole pixel values in, as bytes where the stem reads the 8-bit input: the two sides' outputs agree.
  expect(row.maxAbsError).toBeLessThan(1e-4);
}, 300_000);
