// The inverse of pack.ts: a packed backbone's tensors back in plain TensorFlow layouts
// (spec.ts: stem [3,3,in,out], depthwise [3,3,C], pointwise [in,out], bias [out]), the very
// numbers the shaders read, padding dropped. Used by the ONNX export and the benchmark.
import { c4, type Backbone, type PackedLayer } from './format.ts';
import type { ConvLayer } from './spec.ts';

/** A tensor of weights.bin as float32 (a view, no copy). */
export const floatsAt = (data: ArrayBuffer, ref: { offset: number; bytes: number }) => new Float32Array(data, ref.offset, ref.bytes / 4);

/** [taps, ci4, co4] mat4x4 -> [taps, in, out]. */
export function unpackMat4(packed: Float32Array, taps: number, cin: number, cout: number): Float32Array {
  const ci4 = c4(cin);
  const co4 = c4(cout);
  const out = new Float32Array(taps * cin * cout);
  for (let t = 0; t < taps; t++) {
    for (let i = 0; i < cin; i++) {
      for (let o = 0; o < cout; o++) {
        out[(t * cin + i) * cout + o] = packed[((t * ci4 + (i >> 2)) * co4 + (o >> 2)) * 16 + (i & 3) * 4 + (o & 3)];
      }
    }
  }
  return out;
}

/** [taps, c4] vec4 -> [taps, C]. */
export function unpackVec4(packed: Float32Array, taps: number, channels: number): Float32Array {
  const n4 = c4(channels);
  const out = new Float32Array(taps * channels);
  for (let t = 0; t < taps; t++) for (let c = 0; c < channels; c++) out[t * channels + c] = packed[t * n4 * 4 + c];
  return out;
}

/** One packed layer in TensorFlow layouts. */
export function unpackLayer(data: ArrayBuffer, l: PackedLayer): ConvLayer {
  const w = floatsAt(data, l.weights);
  const kernel =
    l.kind === 'depthwise' ? unpackVec4(w, 9, l.outChannels) : unpackMat4(w, l.kind === 'stem' ? 9 : 1, l.inChannels, l.outChannels);
  const { name, kind, stride, inChannels, outChannels, activation } = l;
  return { name, kind, stride, inChannels, outChannels, activation, kernel, bias: unpackVec4(floatsAt(data, l.bias), 1, l.outChannels) };
}

/** Every layer of a backbone in TensorFlow layouts. */
export function unpackBackbone(b: Backbone): ConvLayer[] {
  return b.manifest.layers.map((l) => unpackLayer(b.data, l));
}
