// BackboneSpec (plain TensorFlow layouts) -> our padded, aligned format (see format.ts).
import { c4, FORMAT, FORMAT_VERSION, TENSOR_ALIGN, type BackboneManifest, type PackedLayer, type TensorRef } from './format.ts';
import type { BackboneSpec, ConvLayer } from './spec.ts';

/** Pad a [.., in, out] kernel (out fastest) into mat4x4 blocks [taps, ci4, co4]. */
function packMat4(kernel: Float32Array, taps: number, cin: number, cout: number): Float32Array {
  const ci4 = c4(cin);
  const co4 = c4(cout);
  const out = new Float32Array(taps * ci4 * co4 * 16);
  for (let t = 0; t < taps; t++) {
    for (let i = 0; i < cin; i++) {
      for (let o = 0; o < cout; o++) {
        const block = (t * ci4 + (i >> 2)) * co4 + (o >> 2);
        // column j = i % 4 (input channel), row r = o % 4 (output channel), column-major.
        out[block * 16 + (i & 3) * 4 + (o & 3)] = kernel[(t * cin + i) * cout + o];
      }
    }
  }
  return out;
}

/** Pad a [taps, C] array into [taps, c4] vec4. */
function packVec4(values: Float32Array, taps: number, channels: number): Float32Array {
  const n4 = c4(channels);
  const out = new Float32Array(taps * n4 * 4);
  for (let t = 0; t < taps; t++) {
    for (let c = 0; c < channels; c++) out[t * n4 * 4 + c] = values[t * channels + c];
  }
  return out;
}

export function packLayerWeights(layer: ConvLayer): { weights: Float32Array; bias: Float32Array; layout: string } {
  const bias = packVec4(layer.bias, 1, layer.outChannels);
  switch (layer.kind) {
    case 'stem':
      return { weights: packMat4(layer.kernel, 9, layer.inChannels, layer.outChannels), bias, layout: '[3,3,ci4,co4] mat4x4' };
    case 'depthwise':
      return { weights: packVec4(layer.kernel, 9, layer.outChannels), bias, layout: '[3,3,c4] vec4' };
    case 'pointwise':
      return { weights: packMat4(layer.kernel, 1, layer.inChannels, layer.outChannels), bias, layout: '[ci4,co4] mat4x4' };
  }
}

/**
 * A weight this large is no trained convolution's (MobileNets' folded weights stay under a few
 * hundred: 180 and 52 for the face and ImageNet backbones, 224 for the 0.75 one), and damaged
 * bytes give 1e33 as readily as NaN.
 */
export const MAX_WEIGHT = 1e6;

/** Throw, naming the layer, where a layer's weights are not finite or past MAX_WEIGHT: a damaged file. */
function checkWeights(layer: ConvLayer): void {
  for (const [what, values] of [['weights', layer.kernel], ['bias', layer.bias]] as const) {
    const at = values.findIndex((v) => !(Math.abs(v) <= MAX_WEIGHT));
    if (at >= 0) throw new Error(`layer "${layer.name}": its ${what} hold ${values[at]} (at ${at}), ${Number.isFinite(values[at]) ? `past ${MAX_WEIGHT}` : 'not a number'}, after its batch norm was folded in: the model's weights are damaged`);
  }
}

/** Lay every tensor out in one buffer; returns the manifest (without the hash) and the bytes. */
export function packBackbone(spec: BackboneSpec, id: string): { manifest: Omit<BackboneManifest, 'weightsSha256'>; data: Uint8Array } {
  spec.layers.forEach(checkWeights);
  const chunks: { offset: number; data: Float32Array }[] = [];
  let size = 0;
  const place = (data: Float32Array, layout: string): TensorRef => {
    const offset = Math.ceil(size / TENSOR_ALIGN) * TENSOR_ALIGN;
    chunks.push({ offset, data });
    size = offset + data.byteLength;
    return { offset, bytes: data.byteLength, layout };
  };
  const layers: PackedLayer[] = spec.layers.map((l) => {
    const p = packLayerWeights(l);
    return {
      name: l.name,
      kind: l.kind,
      stride: l.stride,
      inChannels: l.inChannels,
      outChannels: l.outChannels,
      activation: l.activation,
      weights: place(p.weights, p.layout),
      bias: place(p.bias, '[co4] vec4'),
    };
  });
  const total = Math.ceil(size / TENSOR_ALIGN) * TENSOR_ALIGN;
  const data = new Uint8Array(total);
  for (const c of chunks) data.set(new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength), c.offset);
  return {
    manifest: {
      format: FORMAT,
      version: FORMAT_VERSION,
      id,
      architecture: spec.architecture,
      alpha: spec.alpha,
      inputSize: spec.inputSize,
      preprocess: spec.preprocess,
      outputDim: spec.outputDim,
      source: spec.source,
      weightsFile: 'weights.bin',
      weightsBytes: total,
      layers,
    },
    data,
  };
}
