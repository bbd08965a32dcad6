// The backbone as the converters see it: a list of convolutions in plain, unpadded float32
// layouts (TensorFlow's own axis orders), BatchNorm already folded in. pack.ts turns this into
// the on-disk format our shaders read.
import type { Activation } from '../kernels/common.ts';

/** The activations our kernels fuse (src/kernels/common.ts). */
export type { Activation };
export type ConvKind = 'stem' | 'depthwise' | 'pointwise';

/** What a convolution is, apart from its numbers (shared with the packed format). */
export interface ConvShape {
  /** Name in the source model (Keras layer name). */
  name: string;
  kind: ConvKind;
  stride: number;
  inChannels: number;
  outChannels: number;
  activation: Activation;
}

export interface ConvLayer extends ConvShape {
  /**
   * stem: [3, 3, in, out] (HWIO); depthwise: [3, 3, C] (HWC); pointwise: [in, out].
   * Output channels last, BatchNorm scale folded in.
   */
  kernel: Float32Array;
  /** [out], BatchNorm shift (and any conv bias) folded in. */
  bias: Float32Array;
}

export interface Preprocess {
  /** input = byte * scale + offset, per RGB channel. */
  scale: number;
  offset: number;
  /** What the range means, for people reading the manifest. */
  range: string;
}

export interface BackboneSpec {
  architecture: 'mobilenet_v1';
  alpha: number;
  inputSize: number;
  preprocess: Preprocess;
  /** Descriptor length: channels of the last pointwise convolution. */
  outputDim: number;
  /** Provenance; a TFLite conversion adds its quantization (src/weights/tflite.ts). */
  source: { format: 'tfjs-graph' | 'tfjs-layers' | 'tflite'; file: string; sha256: string; output: string; [more: string]: unknown };
  layers: ConvLayer[];
}

export const PREPROCESS_RAW: Preprocess = { scale: 1, offset: 0, range: '0..255 (raw RGB)' };
export const PREPROCESS_SIGNED: Preprocess = { scale: 1 / 127.5, offset: -1, range: '-1..1 (x / 127.5 - 1)' };

/** Fold a BatchNorm (or any per-output-channel affine) into kernel and bias, in place. */
export function foldScale(layer: ConvLayer, scale: ArrayLike<number>, shift: ArrayLike<number>): void {
  const out = layer.outChannels;
  if (scale.length !== out || shift.length !== out) {
    throw new Error(`${layer.name}: BatchNorm has ${scale.length} channels, the convolution has ${out}`);
  }
  for (let i = 0; i < layer.kernel.length; i++) layer.kernel[i] *= scale[i % out];
  for (let o = 0; o < out; o++) layer.bias[o] = layer.bias[o] * scale[o] + shift[o];
}

/** Check the layers and describe the backbone they make. */
export function mobileNetV1Spec(
  layers: ConvLayer[],
  inputSize: number,
  preprocess: Preprocess,
  source: BackboneSpec['source'],
): BackboneSpec {
  checkMobileNetV1(layers, source.file);
  return {
    architecture: 'mobilenet_v1',
    alpha: layers[0].outChannels / 32,
    inputSize,
    preprocess,
    outputDim: layers[layers.length - 1].outChannels,
    source,
    layers,
  };
}

/** Check that the layers form a MobileNet V1: stem, then (depthwise, pointwise) pairs. */
function checkMobileNetV1(layers: ConvLayer[], where: string): void {
  if (layers.length < 3 || layers[0].kind !== 'stem') throw new Error(`${where}: a MobileNet V1 starts with a 3x3 convolution`);
  for (let i = 1; i < layers.length; i++) {
    const want = i % 2 === 1 ? 'depthwise' : 'pointwise';
    if (layers[i].kind !== want) throw new Error(`${where}: layer ${layers[i].name} is ${layers[i].kind}, expected ${want}`);
    if (layers[i].inChannels !== layers[i - 1].outChannels) {
      throw new Error(`${where}: ${layers[i].name} takes ${layers[i].inChannels} channels but ${layers[i - 1].name} gives ${layers[i - 1].outChannels}`);
    }
  }
}
