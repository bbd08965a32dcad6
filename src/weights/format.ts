// facegpu's own backbone format: manifest.json (architecture, input size, preprocessing,
// source and hashes, per-layer shapes and byte offsets) + weights.bin (float32, little-endian,
// every tensor already in the padded layout the shaders read, each at a 256-byte-aligned
// offset so the whole file can be one GPU buffer bound by ranges).
//
// Layouts (c4 = ceil(channels / 4); padded channels hold zeros):
//   stem       [3, 3, ci4, co4] mat4x4  (column j = input channel 4*ci4+j, row r = output 4*co4+r)
//   depthwise  [3, 3, c4] vec4
//   pointwise  [ci4, co4] mat4x4        (same column/row convention)
//   bias       [co4] vec4
import type { ConvShape, Preprocess } from './spec.ts';

export const FORMAT = 'facegpu-backbone';
export const FORMAT_VERSION = 1;
export const TENSOR_ALIGN = 256;

export interface TensorRef {
  /** Byte offset in weights.bin. */
  offset: number;
  /** Byte length. */
  bytes: number;
  layout: string;
}

export interface PackedLayer extends ConvShape {
  weights: TensorRef;
  bias: TensorRef;
}

export interface BackboneManifest {
  format: typeof FORMAT;
  version: number;
  /** Short name, e.g. "face" or "mobilenet_v1_0.75_224". */
  id: string;
  architecture: 'mobilenet_v1';
  alpha: number;
  inputSize: number;
  preprocess: Preprocess;
  outputDim: number;
  source: { format: string; file: string; sha256: string; output: string };
  weightsFile: string;
  weightsBytes: number;
  weightsSha256: string;
  layers: PackedLayer[];
}

export interface Backbone {
  manifest: BackboneManifest;
  /** The whole of weights.bin. */
  data: ArrayBuffer;
}

export const c4 = (channels: number) => Math.ceil(channels / 4);

/** Check a manifest read from `where` against its weights, with errors naming the file. */
export function validateManifest(m: any, where: string): asserts m is BackboneManifest {
  if (!m || m.format !== FORMAT) throw new Error(`${where}: not a facegpu backbone manifest (format "${m?.format}")`);
  if (m.version !== FORMAT_VERSION) throw new Error(`${where}: format version ${m.version}, this facegpu reads ${FORMAT_VERSION}; convert the model again`);
  if (m.architecture !== 'mobilenet_v1') throw new Error(`${where}: architecture ${m.architecture} is not supported`);
  if (!Array.isArray(m.layers) || m.layers.length < 3) throw new Error(`${where}: no layers`);
  for (const l of m.layers as PackedLayer[]) {
    for (const t of [l.weights, l.bias]) {
      if (!t || t.offset % TENSOR_ALIGN !== 0 || t.offset + t.bytes > m.weightsBytes) {
        throw new Error(`${where}: layer ${l.name} points outside ${m.weightsFile}`);
      }
    }
  }
}

export function checkWeightsData(m: BackboneManifest, data: ArrayBuffer, where: string): void {
  if (data.byteLength !== m.weightsBytes) {
    throw new Error(`${where}: ${data.byteLength} bytes, the manifest says ${m.weightsBytes} (truncated or from another conversion)`);
  }
}
