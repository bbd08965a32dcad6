// The TensorFlow Lite runtime itself (@tensorflow/tfjs-tflite: TFLite's C++ interpreter with
// XNNPACK, compiled to WASM) running a .tflite model in Node, as a reference for parity tests.
// The package is written for browsers and web workers; run here in its own process, it gets
// what its loader looks for: `self` with a location, importScripts (run the Emscripten script),
// fetch of local files (the .wasm), and no SharedArrayBuffer (so it picks the single-threaded
// SIMD build instead of one that needs Web Workers).
//
//   node test/helpers/tflite-runtime.cjs model.tflite pixels.bin N > out.json
// pixels.bin: N images, uint8 NHWC at the model's input size; out.json: {"dtype", "shape",
// "outputs": [N arrays of the raw output values], "output": name}.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { fileURLToPath } = require('node:url');

const [modelFile, pixelsFile, countArg] = process.argv.slice(2);
const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-tflite/package.json')), 'wasm') + '/';

globalThis.self = globalThis;
self.location = { origin: 'file://', href: 'file://' + wasmDir };
globalThis.importScripts = (url) => {
  const file = url.startsWith('file:') ? fileURLToPath(url) : url;
  if (!fs.existsSync(file)) throw new Error(`importScripts: ${file} does not exist`);
  vm.runInThisContext(`${fs.readFileSync(file, 'utf8')}\n;globalThis.tflite_web_api_ModuleFactory = tflite_web_api_ModuleFactory;`, { filename: file });
};
const realFetch = globalThis.fetch;
globalThis.fetch = async (url, init) => {
  const s = String(url);
  if (s.startsWith('file:') || s.startsWith('/')) return new Response(fs.readFileSync(s.startsWith('file:') ? fileURLToPath(s) : s), { headers: { 'content-type': 'application/wasm' } });
  return realFetch(url, init);
};
delete globalThis.SharedArrayBuffer;

const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tflite = require('@tensorflow/tfjs-tflite');

(async () => {
  await tf.setBackend('cpu');
  tflite.setWasmPath(wasmDir);
  const bytes = fs.readFileSync(modelFile);
  const model = await tflite.loadTFLiteModel(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), { numThreads: 1 });
  const [input] = model.inputs;
  const [size] = [input.shape[1]];
  const n = Number(countArg);
  const pixels = fs.readFileSync(pixelsFile);
  const per = size * size * 3;
  if (pixels.length !== n * per) throw new Error(`${pixelsFile}: ${pixels.length} bytes, expected ${n} x ${per}`);
  const outputs = [];
  let dtype = '';
  let shape = [];
  for (let i = 0; i < n; i++) {
    // The runtime takes int32 tensors for its uint8 input and converts them.
    const x = tf.tensor4d(Int32Array.from(pixels.subarray(i * per, (i + 1) * per)), [1, size, size, 3], 'int32');
    const y = model.predict(x);
    dtype = y.dtype;
    shape = y.shape;
    outputs.push(Array.from(await y.data()));
    x.dispose();
    y.dispose();
  }
  process.stdout.write(JSON.stringify({ dtype, shape, output: model.outputs[0].name, outputs }));
})().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
