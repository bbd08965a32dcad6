// A converted backbone as an ONNX model (`facegpu weights export <backbone> --onnx <file>`): the
// same float32 numbers our shaders read (BatchNorm already folded, unpacked from weights.bin),
// encoded with the ONNX protobuf schema compiled for JavaScript (`onnx-proto`).
//
// The graph (opset 13):
//   pixels   float32 [batch, S, S, 3], NHWC RGB 0..255: the engine's input bytes as floats
//   -> Mul/Add by the manifest's preprocess (scale, offset; left out where 1 / 0)
//   -> Transpose to NCHW
//   -> stem Conv 3x3 (explicit TensorFlow "SAME" pads) + bias, then 13 x (depthwise Conv 3x3
//      with group = C, pointwise Conv 1x1), each followed by Relu or Clip(0, 6) as the
//      manifest's activations say
//   -> GlobalAveragePool -> Flatten -> descriptor float32 [batch, outputDim]
// The descriptor is what MobileNetEngine.embed returns (the raw global average pool).
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { samePadding } from '../kernels/common.ts';
import type { Backbone } from './format.ts';
import type { ConvLayer } from './spec.ts';
import { unpackBackbone } from './unpack.ts';

const { onnx } = onnxProto;

export const ONNX_OPSET = 13;
/** IR version 7 is the one of opset 13 (ONNX 1.8). */
export const ONNX_IR_VERSION = 7;
export const ONNX_INPUT = 'pixels';
export const ONNX_OUTPUT = 'descriptor';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const AttrType = onnx.AttributeProto.AttributeType;

function tensor(name: string, dims: number[], values: Float32Array): OnnxTypes.ITensorProto {
  // raw_data is little-endian, as Float32Array is on every platform Node and browsers run on.
  const raw = new Uint8Array(values.byteLength);
  raw.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  return { name, dims, dataType: FLOAT, rawData: raw };
}

const ints = (name: string, v: number[]): OnnxTypes.IAttributeProto => ({ name, type: AttrType.INTS, ints: v });
const int = (name: string, v: number): OnnxTypes.IAttributeProto => ({ name, type: AttrType.INT, i: v });

/** ONNX's OIHW weights of a layer from TensorFlow's layouts (spec.ts). */
function onnxWeights(l: ConvLayer): { dims: number[]; values: Float32Array } {
  const cin = l.inChannels;
  const cout = l.outChannels;
  if (l.kind === 'pointwise') {
    // [in, out] -> [out, in, 1, 1]
    const w = new Float32Array(cin * cout);
    for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) w[o * cin + i] = l.kernel[i * cout + o];
    return { dims: [cout, cin, 1, 1], values: w };
  }
  if (l.kind === 'depthwise') {
    // [3, 3, C] -> [C, 1, 3, 3]
    const w = new Float32Array(9 * cout);
    for (let t = 0; t < 9; t++) for (let c = 0; c < cout; c++) w[c * 9 + t] = l.kernel[t * cout + c];
    return { dims: [cout, 1, 3, 3], values: w };
  }
  // stem: [3, 3, in, out] -> [out, in, 3, 3]
  const w = new Float32Array(9 * cin * cout);
  for (let t = 0; t < 9; t++) {
    for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) w[(o * cin + i) * 9 + t] = l.kernel[(t * cin + i) * cout + o];
  }
  return { dims: [cout, cin, 3, 3], values: w };
}

export interface OnnxExportInfo {
  /** Written into the model's metadata (e.g. facegpu's version). */
  producerVersion?: string;
}

/** The backbone as a serialized ONNX ModelProto. */
export function backboneToOnnx(backbone: Backbone, info: OnnxExportInfo = {}): Uint8Array {
  const m = backbone.manifest;
  const layers = unpackBackbone(backbone);
  const nodes: OnnxTypes.INodeProto[] = [];
  const inits: OnnxTypes.ITensorProto[] = [];
  let x = ONNX_INPUT;

  const pre = m.preprocess;
  if (pre.scale !== 1) {
    inits.push(tensor('preprocess_scale', [], Float32Array.of(pre.scale)));
    nodes.push({ opType: 'Mul', name: 'preprocess_scale', input: [x, 'preprocess_scale'], output: ['scaled'] });
    x = 'scaled';
  }
  if (pre.offset !== 0) {
    inits.push(tensor('preprocess_offset', [], Float32Array.of(pre.offset)));
    nodes.push({ opType: 'Add', name: 'preprocess_offset', input: [x, 'preprocess_offset'], output: ['shifted'] });
    x = 'shifted';
  }
  nodes.push({ opType: 'Transpose', name: 'to_nchw', input: [x], output: ['nchw'], attribute: [ints('perm', [0, 3, 1, 2])] });
  x = 'nchw';

  if (layers.some((l) => l.activation === 'relu6')) {
    inits.push(tensor('relu6_min', [], Float32Array.of(0)), tensor('relu6_max', [], Float32Array.of(6)));
  }
  let size = m.inputSize;
  for (const [i, l] of layers.entries()) {
    const k = l.kind === 'pointwise' ? 1 : 3;
    const pad = samePadding(size, l.stride, k);
    const total = Math.max((pad.out - 1) * l.stride + k - size, 0);
    const [before, after] = [pad.before, total - pad.before];
    const w = onnxWeights(l);
    const name = l.name || `layer${i}`;
    inits.push(tensor(`${name}/weights`, w.dims, w.values), tensor(`${name}/bias`, [l.outChannels], l.bias));
    const conv = `${name}/conv`;
    nodes.push({
      opType: 'Conv',
      name: conv,
      input: [x, `${name}/weights`, `${name}/bias`],
      output: [conv],
      attribute: [
        ints('kernel_shape', [k, k]),
        ints('strides', [l.stride, l.stride]),
        ints('pads', [before, before, after, after]),
        ints('dilations', [1, 1]),
        int('group', l.kind === 'depthwise' ? l.outChannels : 1),
      ],
    });
    x = conv;
    if (l.activation === 'relu') {
      nodes.push({ opType: 'Relu', name: `${name}/relu`, input: [x], output: [`${name}/relu`] });
      x = `${name}/relu`;
    } else if (l.activation === 'relu6') {
      nodes.push({ opType: 'Clip', name: `${name}/relu6`, input: [x, 'relu6_min', 'relu6_max'], output: [`${name}/relu6`] });
      x = `${name}/relu6`;
    }
    size = pad.out;
  }
  nodes.push({ opType: 'GlobalAveragePool', name: 'global_pooling', input: [x], output: ['pooled'] });
  nodes.push({ opType: 'Flatten', name: 'flatten', input: ['pooled'], output: [ONNX_OUTPUT], attribute: [int('axis', 1)] });

  const s = m.inputSize;
  const valueInfo = (name: string, dims: (number | string)[]): OnnxTypes.IValueInfoProto => ({
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });
  const model: OnnxTypes.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'facegpu',
    producerVersion: info.producerVersion ?? '',
    docString: `facegpu backbone ${m.id}: MobileNet V1 alpha ${m.alpha} at ${s}x${s}, BatchNorm folded`,
    metadataProps: [
      { key: 'facegpu.backbone', value: m.id },
      { key: 'facegpu.weightsSha256', value: m.weightsSha256 },
      { key: 'facegpu.source', value: `${m.source.format} ${m.source.sha256} output ${m.source.output}` },
      { key: 'input', value: `${ONNX_INPUT}: float32 [batch, ${s}, ${s}, 3], NHWC RGB 0..255 (preprocess ${pre.range} is in the graph)` },
      { key: 'output', value: `${ONNX_OUTPUT}: float32 [batch, ${m.outputDim}], the global average pool` },
    ],
    graph: {
      name: `facegpu_${m.id}`.replace(/[^A-Za-z0-9_]/g, '_'),
      node: nodes,
      initializer: inits,
      input: [valueInfo(ONNX_INPUT, ['batch', s, s, 3])],
      output: [valueInfo(ONNX_OUTPUT, ['batch', m.outputDim])],
    },
  };
  const err = onnx.ModelProto.verify(model);
  if (err) throw new Error(`ONNX export of ${m.id}: ${err}`);
  return onnx.ModelProto.encode(model).finish();
}
