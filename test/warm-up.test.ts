// Warm-ups: the engine's runs the kernels of every tuned batch size once (a driver that
// compiles at first dispatch does it there), leaves no buffer behind and records how long it
// took; the describer's runs the detector and the warp without counting in `times`, once per
// device.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resolveBackboneDir } from '../src/backbones.ts';
import type { Gpu } from '../src/gpu/device.ts';
import { createNodeGpu } from '../src/gpu/node-gpu.ts';
import { kernelKey } from '../src/gpu/runner.ts';
import { loadShaders } from '../src/gpu/shaders-node.ts';
import { FaceDescriber } from '../src/faces/describe.ts';
import { DEFAULT_PREPROCESSING } from '../src/faces/framing.ts';
import { openFaceDescriber, warmDetector } from '../src/faces/node.ts';
import { loadBlazeFace, nodeFaceCropper } from '../src/detect/node.ts';
import { useGpuForTfjs } from '../src/train/tf-backend.ts';
import { faceCropRecord } from '../src/detect/face-crop.ts';
import { MobileNetEngine } from '../src/mobilenet/engine.ts';
import { loadBackbone } from '../src/weights/store.ts';

let gpu: Gpu;
let engine: MobileNetEngine;
const POINTWISE = 'pointwise 14x14x512->512 s1';

beforeAll(async () => {
  gpu = await createNodeGpu();
  // Batch 8's 14x14 pointwise layers tuned to 2 pixels per lane: a kernel no batch-1 pass runs
  // (hand-picked: 4 on CPU adapters, 1 on GPUs).
  const backbone = await loadBackbone(resolveBackboneDir('face'));
  const plain = new MobileNetEngine(gpu, backbone, loadShaders());
  const keys = [...new Set(plain.layerShapes(1).map((l) => l.key))];
  plain.destroy();
  const every = (choice: (key: string) => object) => Object.fromEntries(keys.map((k) => [k, choice(k)]));
  engine = new MobileNetEngine(gpu, backbone, loadShaders(), {
    tuned: { batches: { '1': every(() => ({})), '8': every((k) => (k === POINTWISE ? { sgPixels: 2 } : {})) } },
  });
});
afterAll(() => {
  engine?.destroy();
  gpu?.destroy();
});

describe('MobileNetEngine.warmUp', () => {
  it("dispatches every kernel of every tuned batch size, leaves the engine's buffers as they were after a plan of one, and records its time", async () => {
    const encoded = new Set<string>();
    const encode = engine.runner.encode.bind(engine.runner);
    const spy = vi.spyOn(engine.runner, 'encode').mockImplementation((pass, ops) => {
      ops.forEach((op) => encoded.add(kernelKey(op.desc.kernel)));
      encode(pass, ops);
    });
    try {
      expect(engine.warmUpMs).toBeNull();
      await engine.warmUp();
      const afterFirst = engine.buffers.count;
      await engine.warmUp();
      expect(engine.buffers.count).toBe(afterFirst);
    } finally {
      spy.mockRestore();
    }
    expect(engine.warmUpMs).toEqual(expect.any(Number));
    const batch8 = engine.kernelChoices(8).layers.find((l) => l.shape === POINTWISE)!.kernel;
    const batch1 = engine.kernelChoices(1).layers.find((l) => l.shape === POINTWISE)!.kernel;
    expect(batch8).toContain('TP=2');
    expect(batch1).not.toBe(batch8);
    for (const n of [1, 8]) for (const l of engine.kernelChoices(n).layers) expect(encoded).toContain(l.kernel.replace(/ rows=\d+$/, ''));
  }, 120_000);

  it('leaves descriptors as they were: an embed after it gives what an embed gives without one', async () => {
    const per = engine.inputSize ** 2 * 3;
    const pixels = Uint8Array.from({ length: per }, (_, i) => (i * 7) % 251);
    const before = await engine.embed(pixels, 1);
    await engine.warmUp();
    expect(Array.from(await engine.embed(pixels, 1))).toEqual(Array.from(before));
  }, 120_000);
});

describe('FaceDescriber.warmUp through openFaceDescriber', () => {
  it("runs the detector and the warp once per device, outside the describer's times", async () => {
    const warmUp = vi.spyOn(FaceDescriber.prototype, 'warmUp');
    const notices: string[] = [];
    try {
      const first = await openFaceDescriber(gpu, engine, DEFAULT_PREPROCESSING, { onNotice: (m) => notices.push(m) });
      expect(warmUp).toHaveBeenCalledTimes(1);
      expect(first.times).toEqual({ images: 0, faces: 0, detectMs: 0, alignMs: 0, embedMs: 0 });
      first.destroy();
      const second = await openFaceDescriber(gpu, engine, DEFAULT_PREPROCESSING, { onNotice: (m) => notices.push(m) });
      expect(warmUp).toHaveBeenCalledTimes(1);
      second.destroy();
    } finally {
      warmUp.mockRestore();
    }
    // Anything said is the pair of lines of a slow first use (a cold driver cache), never more.
    expect(notices.length === 0 || (notices.length === 2 && /^compiling the face detector's kernels for /.test(notices[0]))).toBe(true);
  }, 180_000);
});

describe("training's face cropper", () => {
  it('FaceCropper.warmUp runs the detector outside its stats; warmDetector runs a warm-up only on a device that has had none', async () => {
    const cropper = await nodeFaceCropper(faceCropRecord());
    const detect = vi.spyOn((cropper as unknown as { detector: { detectMany: () => Promise<unknown> } }).detector, 'detectMany');
    await cropper.warmUp();
    expect(detect).toHaveBeenCalledTimes(1);
    expect(cropper.stats).toEqual({ images: 0, noFace: 0, detectMs: 0 });
    // This device's detector was warmed by openFaceDescriber above.
    const warm = vi.fn(async () => {});
    await warmDetector(gpu, warm);
    expect(warm).not.toHaveBeenCalled();
  }, 120_000);
});

describe('BlazeFaceDetector.warmUp', () => {
  it("creates every pipeline of the model before its first dispatch (tfjs' compile-only mode; ours made, not run), so no creation holds the thread while the driver compiles", async () => {
    const fresh = await createNodeGpu();
    try {
      await useGpuForTfjs(fresh, loadShaders());
      const detector = await loadBlazeFace();
      const device = fresh.device;
      const events: string[] = [];
      const createSync = device.createComputePipeline.bind(device);
      vi.spyOn(device, 'createComputePipeline').mockImplementation((d) => {
        events.push('create');
        return createSync(d);
      });
      const createAsync = device.createComputePipelineAsync.bind(device);
      vi.spyOn(device, 'createComputePipelineAsync').mockImplementation((d) => {
        events.push('create-async');
        return createAsync(d);
      });
      const submit = device.queue.submit.bind(device.queue);
      vi.spyOn(device.queue, 'submit').mockImplementation((buffers: Iterable<GPUCommandBuffer>) => {
        events.push('submit');
        submit(buffers);
      });
      await detector.warmUp();
      const firstSubmit = events.indexOf('submit');
      expect(firstSubmit).toBeGreaterThan(0);
      // tfjs' own programs (of BlazeFace's graph only its concat is left to tfjs)
      // asynchronously, ours (convolutions, depthwise, pools, padding) synchronously, all
      // before the model first runs.
      expect(events.filter((e) => e === 'create-async').length).toBeGreaterThanOrEqual(1);
      expect(events.slice(0, firstSubmit).filter((e) => e === 'create').length).toBeGreaterThan(5);
      expect(events.slice(firstSubmit).filter((e) => e.startsWith('create'))).toEqual([]);
      // And the warmed model still detects: no face in a blank image.
      expect(await detector.detect({ width: 32, height: 32, data: new Uint8Array(32 * 32 * 3) })).toEqual([]);
    } finally {
      vi.restoreAllMocks();
      fresh.destroy();
    }
  }, 180_000);
});
