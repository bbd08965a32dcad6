// Our kernel runner working on TensorFlow.js tensors. tfjs' WebGPU backend runs on our
// GPUDevice (src/train/tf-backend.ts), so a tfjs tensor is a GPUBuffer we can bind directly:
// this is what lets a kernel registered in tfjs' registry (src/tfjs/kernels.ts) run one of
// our shaders on its inputs and hand back a tfjs tensor, with no copy either way.
//
// Only the backend's public surface is used: uploadToGPU / tensorMap to find a tensor's
// buffer, makeTensorInfo for outputs, submitQueue to flush what tfjs has recorded so far.
// tfjs records its own dispatches into a command encoder that it submits every few ops; ours
// must run after those (they may write our inputs) and before anything tfjs records next
// (it may read our outputs), so each run flushes tfjs' encoder and submits its own.
import { env, type TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { KernelError, KernelRunner, kernelKey, type OpDesc, type ShaderSources } from '../gpu/runner.ts';

export class TfjsGpu {
  readonly runner: KernelRunner;
  /** Dispatches run so far (for tests that check our kernels were used, not tfjs'). */
  dispatches = 0;
  private zeroBuffer: GPUBuffer | null = null;
  private uniforms: GPUBuffer | null = null;
  /** A run that failed validation (a kernel's first, which cannot wait for its check): thrown by the next run. */
  private failure: KernelError | null = null;
  private checks = new Set<Promise<void>>();

  constructor(
    readonly backend: WebGPUBackend,
    shaders: ShaderSources,
  ) {
    // The engine's pipeline cache when it runs on this device with the same shader library.
    this.runner = KernelRunner.shared(backend.device, shaders);
  }

  /** The GPUBuffer holding `t` (uploaded first if tfjs still holds its values on the CPU). */
  buffer(t: TensorInfo): GPUBuffer {
    this.backend.uploadToGPU(t.dataId);
    const resource = this.backend.tensorMap.get(t.dataId).resource;
    if (!resource || !('mapAsync' in resource)) throw new Error(`tfjs tensor [${t.shape}] is not held in a GPU buffer`);
    return resource as GPUBuffer;
  }

  /**
   * Whether `t`'s buffer holds float32 values. Not the same as `t.dtype`: tfjs casts int32 and
   * bool to float32 without converting the data (the buffer keeps its int32 values, and the
   * backend's record of the data keeps its dtype), so kernels must ask the backend.
   */
  holdsFloat32(t: TensorInfo): boolean {
    return t.dtype === 'float32' && this.backend.tensorMap.get(t.dataId).dtype === 'float32';
  }

  /** A new float32 tensor of `shape`, its buffer allocated, for a kernel to write. */
  output(shape: number[]): TensorInfo {
    const t = this.backend.makeTensorInfo(shape, 'float32');
    this.backend.uploadToGPU(t.dataId);
    return t;
  }

  /**
   * Run `op`, which writes the tensor `out` (made by `output`), and return `out`; or, where the
   * device cannot dispatch the op's grid, release `out` and return null, so that the kernel
   * hands the case back to tfjs (for kernels whose grid is known only once the op is built).
   */
  runInto(op: OpDesc, out: TensorInfo): TensorInfo | null {
    if (op.workgroups.some((g) => g! > this.backend.device.limits.maxComputeWorkgroupsPerDimension)) {
      this.backend.disposeData(out.dataId, true);
      return null;
    }
    this.run([op]);
    return out;
  }

  /**
   * A read-only buffer of at least `bytes` zero bytes (a bias for kernels that always add
   * one). One buffer, grown when a larger one is asked for, kept for the bridge's life.
   */
  zeros(bytes: number): GPUBuffer {
    if (!this.zeroBuffer || this.zeroBuffer.size < bytes) {
      this.zeroBuffer?.destroy();
      // A new buffer is zero-filled by WebGPU.
      this.zeroBuffer = this.backend.device.createBuffer({ label: 'zeros', size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: GPUBufferUsage.STORAGE });
    }
    return this.zeroBuffer;
  }

  /**
   * Workgroups for a grid-stride kernel (elementwise, reduce_sum, rmsprop) over `lanes`
   * invocations of `wg`: one lane each, capped at the device's limit (the kernels loop over
   * the rest).
   */
  strideGroups(lanes: number, wg: number): number {
    return Math.max(1, Math.min(Math.ceil(lanes / wg), this.backend.device.limits.maxComputeWorkgroupsPerDimension));
  }

  /**
   * Wait until every pipeline and run so far has been checked by WebGPU; throws a KernelError
   * (label, shader, constants) for the first that failed.
   */
  async ready(): Promise<void> {
    while (this.checks.size) await Promise.all([...this.checks]);
    await this.runner.ready();
    if (this.failure) throw this.failure;
  }

  /**
   * Run `ops` in order on the device, after everything tfjs has recorded so far. tfjs'
   * kernels are synchronous, so a kernel's first run cannot wait for WebGPU to validate its
   * new pipeline: that run is made inside an error scope, and a failure (the pipeline's
   * KernelError, or the run's own) is thrown by the next run and by ready().
   */
  run(ops: readonly OpDesc[]): void {
    const { backend, runner } = this;
    if (this.failure) throw this.failure;
    // tfjs' compile-only mode (BlazeFaceDetector.warmUp) records nothing, and neither do we:
    // the pipelines are made, not run. A dispatch here would make lavapipe compile it, and
    // the next synchronous pipeline creation wait for that on the JavaScript thread.
    if (env().getBool('WEBGPU_ENGINE_COMPILE_ONLY')) {
      for (const op of ops) runner.pipeline(op.kernel, op.label);
      return;
    }
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    backend.submitQueue();
    const fresh = ops.some((op) => !runner.has(op.kernel));
    const device = backend.device;
    if (fresh) device.pushErrorScope('validation');
    try {
      this.submit(ops);
    } finally {
      if (fresh) {
        const label = ops.map((op) => `"${op.label}" (${kernelKey(op.kernel)})`).join(', ');
        const check = device.popErrorScope().then(async (err) => {
          // The pipeline's own error, with its label and constants, comes first.
          await runner.ready().catch((e: KernelError) => (this.failure ??= e));
          if (err) this.failure ??= new KernelError(`tfjs bridge: the run of ${label} failed validation: ${err.message}`);
          this.checks.delete(check);
        });
        this.checks.add(check);
      }
    }
  }

  /** Our ops in one command buffer (tfjs' encoder already flushed). */
  private submit(ops: readonly OpDesc[]): void {
    const { backend, runner } = this;
    const device = backend.device;
    // One uniform buffer for every run, grown when a run needs more: queue.writeBuffer is
    // ordered with submits, so each run's dispatches read the values written for them.
    const { ops: prepared } = runner.prepare(ops, (size, usage, label) => {
      if (!this.uniforms || this.uniforms.size < size) {
        // Destroying after submit is allowed: the old buffer is freed once its work is done.
        this.uniforms?.destroy();
        this.uniforms = device.createBuffer({ size: Math.max(size, 256), usage, label: `tfjs bridge ${label}` });
      }
      return this.uniforms;
    });
    const encoder = device.createCommandEncoder({ label: ops[0]?.label });
    const pass = encoder.beginComputePass();
    runner.encode(pass, prepared);
    pass.end();
    device.queue.submit([encoder.finish()]);
    this.dispatches += ops.length;
  }
}
