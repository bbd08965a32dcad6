// A device, a runner and buffers for tests that run single ops.
import { BufferPool, readBuffer, STORAGE } from '../../src/gpu/buffers.ts';
import type { Gpu } from '../../src/gpu/device.ts';
import { createNodeGpu } from '../../src/gpu/node-gpu.ts';
import { KernelRunner, type OpDesc } from '../../src/gpu/runner.ts';
import { loadShaders } from '../../src/gpu/shaders-node.ts';

export interface TestGpu {
  gpu: Gpu;
  runner: KernelRunner;
  pool: BufferPool;
  upload(data: Float32Array | Uint8Array): GPUBuffer;
  empty(bytes: number): GPUBuffer;
  /** Run one op and read back `bytes` of `out`; fails on any WebGPU validation error. */
  run(op: OpDesc, out: GPUBuffer, bytes: number): Promise<Float32Array>;
  close(): void;
}

export async function testGpu(): Promise<TestGpu> {
  const gpu = await createNodeGpu();
  const runner = new KernelRunner(gpu.device, loadShaders());
  const pool = new BufferPool(gpu.device);
  return {
    gpu,
    runner,
    pool,
    upload(data) {
      const padded = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
      padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      return pool.createWith(padded, STORAGE, 'test input');
    },
    empty(bytes) {
      return pool.create(bytes, STORAGE, 'test output');
    },
    async run(op, out, bytes) {
      gpu.device.pushErrorScope('validation');
      const { ops } = runner.prepare([op], (s, u, l) => pool.create(s, u, l));
      const enc = gpu.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      runner.encode(pass, ops);
      pass.end();
      gpu.device.queue.submit([enc.finish()]);
      const err = await gpu.device.popErrorScope();
      await runner.ready(); // a pipeline that failed, named by its kernel, before what followed from it
      if (err) throw new Error(`WebGPU validation error in ${op.label}: ${err.message}`);
      return new Float32Array(await readBuffer(gpu.device, out, bytes));
    },
    close() {
      pool.destroyAll();
      gpu.destroy();
    },
  };
}
