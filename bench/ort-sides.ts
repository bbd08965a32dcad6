// The ONNX Runtime sides of the benchmark (`facegpu bench --ort`): the backbone exported to
// ONNX by src/weights/onnx.ts (the same float32 weights, BatchNorm folded; input the engine's
// RGB 0..255 as float32 NHWC) on three runtimes, in the same process as the other sides:
// - ortWebgpu: onnxruntime-web's WebGPU execution provider on a GPUDevice of its own made from
//   the very Dawn adapter our engine uses (the `webgpu` package's GPU object is what
//   `navigator.gpu` is in a page). Output left on the GPU ('gpu-buffer'), the wait for it
//   patient, as on our side and tfjs-webgpu's.
// - ortWasm: onnxruntime-web's wasm execution provider (SIMD), one thread per core (Node has
//   SharedArrayBuffer and worker threads).
// - ortNode: onnxruntime-node's native CPU execution provider, one intra-op thread per core.
//
// ORT's WebGPU EP runs in Node on the `webgpu` package's GPU object, given its device through
// the EP's options (ort-webgpu.ts, shared with the page's benchmark), once Dawn's queue takes
// ORT's uploads: its wasm heap is a SharedArrayBuffer (threaded build), and it uploads with
// `queue.writeBuffer(buffer, offset, heapView)`; Dawn's Node binding rejects views of a
// SharedArrayBuffer ("Invalid argument"). The queue of the device we hand ORT copies such
// views first (ORT's device only; our engine's and tfjs's queues are untouched).
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type * as OrtWebTypes from 'onnxruntime-web';
import { PROJECT_ROOT } from '../src/backbones.ts';
import type { Gpu } from '../src/gpu/device.ts';
import { createNodeGpu, nodeGpu } from '../src/gpu/node-gpu.ts';
import { PatientWait } from '../src/gpu/patient-wait.ts';
import { ONNX_INPUT, ONNX_OUTPUT } from '../src/weights/onnx.ts';
import { createWebgpuSession, ortDescriptors, ortFeeds } from './ort-webgpu.ts';

export type OrtSide = 'ortWebgpu' | 'ortWasm' | 'ortNode';
export const ORT_SIDES: readonly OrtSide[] = ['ortWebgpu', 'ortWasm', 'ortNode'];
/** Names on the command line (`--ort webgpu,wasm,node`). */
export const ORT_SIDE_NAMES: Record<string, OrtSide> = { webgpu: 'ortWebgpu', wasm: 'ortWasm', node: 'ortNode' };
export const ORT_LABEL: Record<OrtSide, string> = { ortWebgpu: 'ort-webgpu', ortWasm: 'ort-wasm', ortNode: 'ort-node' };

type Ort = typeof OrtWebTypes;
type Session = OrtWebTypes.InferenceSession;
type Tensor = OrtWebTypes.Tensor;

/** Installed ONNX Runtime versions, recorded with results that have ORT sides. */
export function ortVersions(): Record<string, string> {
  // (onnxruntime-web's exports do not include its package.json)
  const v = (pkg: string) => (JSON.parse(readFileSync(join(PROJECT_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  return { 'onnxruntime-web': v('onnxruntime-web'), 'onnxruntime-node': v('onnxruntime-node') };
}

/** What each ORT side ran with, for the results' settings. */
export interface OrtSettings {
  sides: OrtSide[];
  model: string;
  /** Seconds to create each session (the WebGPU one compiles its shaders). */
  sessionSeconds: Partial<Record<OrtSide, number>>;
  wasmThreads: number | null;
  nodeIntraOpThreads: number | null;
  webgpuOutput: 'gpu-buffer';
}

/** Let Dawn's queue take a view of a SharedArrayBuffer by copying it (ORT uploads from its wasm heap). */
function copySharedUploads(queue: GPUQueue): void {
  const write = queue.writeBuffer.bind(queue) as (b: GPUBuffer, o: number, d: BufferSource, dOff?: number, size?: number) => void;
  queue.writeBuffer = ((buffer: GPUBuffer, offset: number, data: BufferSource, dataOffset?: number, size?: number) => {
    if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      const unit = (data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
      const start = (dataOffset ?? 0) * unit;
      const bytes = size !== undefined ? size * unit : data.byteLength - start;
      return write(buffer, offset, new Uint8Array(data.buffer, data.byteOffset + start, bytes).slice());
    }
    return write(buffer, offset, data, dataOffset, size);
  }) as GPUQueue['writeBuffer'];
}

interface Opened {
  ort: Ort;
  session: Session;
}

export class OrtSides {
  private readonly opened = new Map<OrtSide, Opened>();
  private webgpu: Gpu | null = null;
  private readonly waits = new PatientWait();
  readonly settings: OrtSettings;

  private constructor(
    readonly sides: OrtSide[],
    private readonly inputSize: number,
  ) {
    this.settings = {
      sides,
      model: `src/weights/onnx.ts export: input "${ONNX_INPUT}" float32 [n, ${inputSize}, ${inputSize}, 3] NHWC RGB 0..255, output "${ONNX_OUTPUT}"`,
      sessionSeconds: {},
      wasmThreads: null,
      nodeIntraOpThreads: null,
      webgpuOutput: 'gpu-buffer',
    };
  }

  /** Create a session per side for the ONNX model (WebGPU: tens of seconds on a CPU adapter). */
  static async open(model: Uint8Array, inputSize: number, opts: { sides: OrtSide[]; adapter?: string; log?: (line: string) => void }): Promise<OrtSides> {
    const me = new OrtSides(opts.sides, inputSize);
    try {
      const threads = Math.max(1, cpus().length);
      for (const side of opts.sides) {
        opts.log?.(`ONNX Runtime: creating the ${ORT_LABEL[side]} session${side === 'ortWebgpu' ? ' (compiles its shaders: 30-90 s on lavapipe)' : ''}`);
        const t0 = performance.now();
        let opened: Opened;
        if (side === 'ortNode') {
          const ort = (await import('onnxruntime-node')) as unknown as Ort;
          const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1 } as OrtWebTypes.InferenceSession.SessionOptions);
          me.settings.nodeIntraOpThreads = threads;
          opened = { ort, session };
        } else if (side === 'ortWasm') {
          // The 'node' export of onnxruntime-web: its wasm build (no WebGPU), threads through worker_threads.
          const ort = (await import('onnxruntime-web')) as Ort;
          ort.env.wasm.numThreads = threads;
          const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
          me.settings.wasmThreads = ort.env.wasm.numThreads ?? null;
          opened = { ort, session };
        } else {
          const gpu = await nodeGpu({ adapter: opts.adapter });
          // A device of ORT's own on our adapter, made as ours is: the same limits and optional
          // features, and on a CPU adapter its promises awaited in slices (src/gpu/dawn-wait.ts),
          // so that no side pays for the binding's polling and another not.
          me.webgpu = await createNodeGpu({ adapter: opts.adapter });
          copySharedUploads(me.webgpu.device.queue);
          const g = globalThis as { navigator?: { gpu?: GPU } };
          if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
          else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
          const ort = (await import('onnxruntime-web/webgpu')) as Ort;
          const session = await createWebgpuSession(ort, model, me.webgpu.device, 'gpu-buffer');
          opened = { ort, session };
        }
        me.opened.set(side, opened);
        me.settings.sessionSeconds[side] = (performance.now() - t0) / 1000;
      }
      return me;
    } catch (err) {
      await me.dispose();
      throw err;
    }
  }

  private get(side: OrtSide): Opened {
    const o = this.opened.get(side);
    if (!o) throw new Error(`no ${ORT_LABEL[side]} session`);
    return o;
  }

  private feeds(ort: Ort, input: Float32Array, n: number) {
    return ortFeeds(ort, input, n, this.inputSize);
  }

  /**
   * Wall time of one forward pass, ms: from handing over the float32 NHWC input to the end of
   * the work (WebGPU: the queue done, awaited patiently; CPU sides: run() returned). The WebGPU
   * side's output stays on the GPU (not read back), as on the other WebGPU sides.
   */
  async time(side: OrtSide, input: Float32Array, n: number): Promise<number> {
    const { ort, session } = this.get(side);
    const t0 = performance.now();
    const out = await session.run(this.feeds(ort, input, n));
    if (side === 'ortWebgpu') await this.waits.until(`batch ${n}`, t0, () => this.webgpu!.device.queue.onSubmittedWorkDone());
    const ms = performance.now() - t0;
    (out[ONNX_OUTPUT] as Tensor).dispose();
    return ms;
  }

  /** The descriptors, read back: [n, outputDim]. */
  async embed(side: OrtSide, input: Float32Array, n: number): Promise<Float32Array> {
    const { ort, session } = this.get(side);
    return ortDescriptors(session, this.feeds(ort, input, n));
  }

  async dispose(): Promise<void> {
    for (const { session } of this.opened.values()) await session.release().catch(() => {});
    this.opened.clear();
    this.webgpu?.destroy();
    this.webgpu = null;
  }
}
