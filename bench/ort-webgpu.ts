// ONNX Runtime Web's WebGPU execution provider on a GPUDevice we hand it, shared by the Node
// benchmark (ort-sides.ts: a device from Dawn's adapter) and the page's benchmark
// (web/ort-column.ts: a device from navigator.gpu). Browser-safe. The model is the backbone
// exported by src/weights/onnx.ts: input float32 NHWC RGB 0..255, descriptor out.
// ORT 1.30's WebGPU build takes the device through the EP's options ({ name: 'webgpu', device });
// it ignores `env.webgpu.device` and would otherwise make its own from navigator.gpu.
// Creating the session compiles ORT's shaders: 30-90 s on lavapipe, and each new batch size
// compiles more on its first run.
import type * as OrtWebTypes from 'onnxruntime-web';
import { ONNX_INPUT, ONNX_OUTPUT } from '../src/weights/onnx.ts';

export type Ort = typeof OrtWebTypes;
export type OrtSession = OrtWebTypes.InferenceSession;

/**
 * A WebGPU session on `device`. `output`: 'gpu-buffer' leaves the descriptors on the GPU (the
 * Node bench times to queue idle); 'cpu' reads them back in run() (the page times to read-back).
 */
export async function createWebgpuSession(ort: Ort, model: Uint8Array, device: GPUDevice, output: 'gpu-buffer' | 'cpu'): Promise<OrtSession> {
  // Its CPU side only schedules the GPU work; no worker threads to compete with the driver's.
  ort.env.wasm.numThreads = 1;
  return ort.InferenceSession.create(model, {
    executionProviders: [{ name: 'webgpu', device } as OrtWebTypes.InferenceSession.ExecutionProviderConfig],
    preferredOutputLocation: output,
  });
}

/** The model's input: n images of size x size, RGB 0..255 as float32 NHWC. */
export function ortFeeds(ort: Ort, input: Float32Array, n: number, size: number): OrtWebTypes.InferenceSession.FeedsType {
  return { [ONNX_INPUT]: new ort.Tensor('float32', input, [n, size, size, 3]) };
}

/** The descriptors of one run, [n, outputDim], copied out (GPU outputs downloaded and released). */
export async function ortDescriptors(session: OrtSession, feeds: OrtWebTypes.InferenceSession.FeedsType): Promise<Float32Array> {
  const out = (await session.run(feeds))[ONNX_OUTPUT] as OrtWebTypes.Tensor;
  const onGpu = out.location === 'gpu-buffer';
  const data = onGpu ? await out.getData(true) : out.data;
  const copy = Float32Array.from(data as Float32Array);
  if (!onGpu) out.dispose();
  return copy;
}
