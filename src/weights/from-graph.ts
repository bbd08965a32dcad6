// Converter from a TensorFlow.js *graph* model (a frozen Keras MobileNet V1, e.g. the face
// backbone faceres.json of @vladmandic/human) to our BackboneSpec. The graph is walked from
// its input along the single chain of convolutions; per-channel Mul/Add nodes that follow a
// convolution are folded into it, and Relu/Minimum/Maximum are recognised as ReLU6.
import { foldScale, mobileNetV1Spec, PREPROCESS_RAW, type BackboneSpec, type ConvLayer, type Preprocess } from './spec.ts';
import type { TfjsArtifacts } from './tfjs-artifacts.ts';

interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, any>;
}

export interface GraphOptions {
  /** Node whose output is the descriptor; default: the first Mean (global average pool). */
  output?: string;
  /** The graph has no record of its input range; the face backbone takes raw 0..255 RGB. */
  preprocess?: Preprocess;
}

const b64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('latin1') : '');

export function convertGraphModel(model: TfjsArtifacts, opts: GraphOptions = {}): BackboneSpec {
  const file = model.file;
  if (model.json.format && model.json.format !== 'graph-model') throw new Error(`${file}: format is "${model.json.format}", not a graph model`);
  const nodes: GraphNode[] = model.json.modelTopology?.node;
  if (!Array.isArray(nodes)) throw new Error(`${file}: no modelTopology.node list: not a graph model`);
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const consumers = new Map<string, GraphNode[]>();
  for (const n of nodes) {
    for (const raw of n.input ?? []) {
      const src = raw.replace(/^\^/, '').replace(/:\d+$/, '');
      if (!consumers.has(src)) consumers.set(src, []);
      consumers.get(src)!.push(n);
    }
  }
  const constOf = (name: string): { shape: number[]; data: Float32Array } => {
    const clean = name.replace(/:\d+$/, '');
    const node = byName.get(clean);
    if (!node || node.op !== 'Const') throw new Error(`${file}: node ${clean} is not a constant`);
    const t = model.weights.get(clean);
    if (!t) throw new Error(`${file}: constant ${clean} has no weights in the manifest`);
    return t;
  };
  const otherInput = (n: GraphNode, from: string) => {
    const ins = (n.input ?? []).map((s) => s.replace(/:\d+$/, ''));
    const rest = ins.filter((s) => s !== from);
    if (ins.length !== 2 || rest.length !== 1) throw new Error(`${file}: node ${n.name} (${n.op}) must take the activation and one constant`);
    return rest[0];
  };

  const inputs = nodes.filter((n) => n.op === 'Placeholder');
  if (inputs.length !== 1) throw new Error(`${file}: expected one input (Placeholder), found ${inputs.length}`);
  const dims = inputs[0].attr?.shape?.shape?.dim?.map((d: any) => Number(d.size)) ?? [];
  const inputSize = dims.length === 4 && dims[1] > 0 ? dims[1] : 224;

  const layers: ConvLayer[] = [];
  let cur = inputs[0].name;
  let output = '';
  let last: ConvLayer | null = null;
  for (;;) {
    const next = (consumers.get(cur) ?? []).filter((n) => n.op !== 'Const');
    if (next.length !== 1) throw new Error(`${file}: node ${cur} feeds ${next.length} nodes; expected one chain of convolutions`);
    const n = next[0];
    if (n.op === 'Conv2D' || n.op === 'DepthwiseConv2dNative') {
      last = convLayer(n, constOf(otherInput(n, cur)), layers.length === 0, file);
      layers.push(last);
    } else if (n.op === 'Mul' || n.op === 'Add' || n.op === 'AddV2' || n.op === 'BiasAdd' || n.op === 'Sub') {
      if (!last || last.activation !== 'none') throw new Error(`${file}: node ${n.name} (${n.op}) does not directly follow a convolution`);
      const c = constOf(otherInput(n, cur));
      const v = broadcast(c.data, last.outChannels, `${file}: node ${n.name}`);
      const ones = new Float32Array(last.outChannels).fill(1);
      if (n.op === 'Mul') foldScale(last, v, new Float32Array(last.outChannels));
      else foldScale(last, ones, n.op === 'Sub' ? v.map((x) => -x) : v);
    } else if (n.op === 'Relu' || n.op === 'Relu6') {
      if (!last) throw new Error(`${file}: node ${n.name} comes before any convolution`);
      last.activation = n.op === 'Relu6' ? 'relu6' : 'relu';
    } else if (n.op === 'Minimum' || n.op === 'Maximum') {
      const c = constOf(otherInput(n, cur));
      if (!last || c.data.length !== 1) throw new Error(`${file}: node ${n.name}: only a scalar clip after a convolution is supported`);
      const v = c.data[0];
      if (n.op === 'Minimum' && v === 6 && last.activation === 'relu') last.activation = 'relu6';
      else if (n.op === 'Maximum' && v === 0 && last.activation !== 'none') {
        // clip_by_value's lower bound after a Relu: no effect.
      } else throw new Error(`${file}: node ${n.name}: ${n.op}(${v}) is not part of a ReLU6`);
    } else if (n.op === 'Mean') {
      const axes = Array.from(constOf(otherInput(n, cur)).data);
      if (axes.join(',') !== '1,2') throw new Error(`${file}: node ${n.name}: Mean over axes [${axes}] is not a global average pool`);
      output = n.name;
      break;
    } else if (n.op === 'Identity') {
      // pass-through
    } else {
      throw new Error(`${file}: node ${n.name}: unsupported op ${n.op} in the backbone`);
    }
    cur = n.name;
  }
  if (opts.output && opts.output !== output) throw new Error(`${file}: the chain from the input ends at ${output}, not at ${opts.output}`);
  return mobileNetV1Spec(layers, inputSize, opts.preprocess ?? PREPROCESS_RAW, { format: 'tfjs-graph', file, sha256: model.sha256, output });
}

function broadcast(data: Float32Array, channels: number, where: string): Float32Array {
  if (data.length === channels) return Float32Array.from(data);
  if (data.length === 1) return new Float32Array(channels).fill(data[0]);
  throw new Error(`${where}: constant has ${data.length} values for ${channels} channels`);
}

function convLayer(n: GraphNode, k: { shape: number[]; data: Float32Array }, first: boolean, file: string): ConvLayer {
  const strides: number[] = (n.attr?.strides?.list?.i ?? ['1', '1', '1', '1']).map(Number);
  const dil: number[] = (n.attr?.dilations?.list?.i ?? ['1', '1', '1', '1']).map(Number);
  const padding = b64(n.attr?.padding?.s) || 'SAME';
  const format = b64(n.attr?.data_format?.s) || 'NHWC';
  const where = `${file}: node ${n.name}`;
  if (format !== 'NHWC') throw new Error(`${where}: data format ${format} is not supported (NHWC only)`);
  if (dil.some((d) => d !== 1)) throw new Error(`${where}: dilated convolutions are not supported`);
  if (strides[1] !== strides[2] || (strides[1] !== 1 && strides[1] !== 2)) throw new Error(`${where}: strides [${strides}] not supported`);
  const [kh, kw, ci, co] = k.shape;
  if (k.shape.length !== 4) throw new Error(`${where}: kernel shape [${k.shape}] is not 4-D`);
  const stride = strides[1];
  if (n.op === 'DepthwiseConv2dNative') {
    if (kh !== 3 || kw !== 3 || co !== 1) throw new Error(`${where}: depthwise kernel [${k.shape}] is not 3x3 with multiplier 1`);
    if (padding !== 'SAME') throw new Error(`${where}: padding ${padding} is not supported (SAME only)`);
    return { name: n.name.split('/')[0], kind: 'depthwise', stride, inChannels: ci, outChannels: ci, activation: 'none', kernel: Float32Array.from(k.data), bias: new Float32Array(ci) };
  }
  if (kh === 3 && kw === 3 && first) {
    if (padding !== 'SAME') throw new Error(`${where}: padding ${padding} is not supported (SAME only)`);
    return { name: n.name.split('/')[0].replace(/_bn$/, ''), kind: 'stem', stride, inChannels: ci, outChannels: co, activation: 'none', kernel: Float32Array.from(k.data), bias: new Float32Array(co) };
  }
  if (kh === 1 && kw === 1 && stride === 1) {
    return { name: n.name.split('/')[0].replace(/_bn$/, ''), kind: 'pointwise', stride: 1, inChannels: ci, outChannels: co, activation: 'none', kernel: Float32Array.from(k.data), bias: new Float32Array(co) };
  }
  throw new Error(`${where}: a ${kh}x${kw} stride ${stride} Conv2D is not part of MobileNet V1`);
}
