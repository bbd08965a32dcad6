// Converter from a TensorFlow Lite MobileNet V1 (.tflite, e.g. Coral's uint8-quantized
// ImageNet embedding extractor) to our BackboneSpec. The flatbuffer is read through
// tflite-schema.ts (the `flatbuffers` runtime with TFLite's schema field ids). The main
// subgraph is walked from its input along the single chain of operators; every constant is
// dequantized to float32 with its own scale and zero point (per tensor, or per channel along
// `quantized_dimension`); a per-channel MUL/ADD/SUB after a convolution is folded into it
// (BatchNorm left unfolded by the converter), fused ReLU/ReLU6 become our activations, a
// stride-2 PAD((0,1),(0,1)) + VALID convolution becomes SAME, and QUANTIZE/DEQUANTIZE of
// activations are dropped (the float network has no activation quantization). The chain
// ends at a global average pool (AVERAGE_POOL_2D over the whole map, or MEAN over H, W).
//
// The input: a uint8 (or int8) input tensor says what its bytes mean, real = scale * (q -
// zero_point); that is the preprocessing recorded (Coral's file: (q - 128) / 128, i.e.
// x / 128 - 1), unless the caller gives one. A float input records no range: the caller's,
// else MobileNet's x / 127.5 - 1.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { foldScale, mobileNetV1Spec, PREPROCESS_SIGNED, type Activation, type BackboneSpec, type ConvLayer, type Preprocess } from './spec.ts';
import { float16ToFloat32 } from './half.ts';
import {
  ActivationFunctionType,
  ActivationOptions,
  BuiltinOperator as Op,
  Conv2DOptions,
  DepthwiseConv2DOptions,
  Model,
  OP_NAMES,
  Padding,
  Pool2DOptions,
  TENSOR_TYPE_NAMES,
  TensorType,
  type Operator,
  type Tensor,
} from './tflite-schema.ts';
import { fsReason } from '../fs-reason.ts';

/** How one quantized tensor maps to floats: real = scale * (q - zeroPoint). */
export interface TensorQuantization {
  type: string;
  /** One value (per tensor) or one per channel along `dimension`. */
  scale: number[];
  zeroPoint: number[];
  dimension?: number;
}

/** Provenance of a converted TFLite model: what was quantized and how. */
export interface TfliteQuantization {
  /** e.g. "uint8 weights and activations (per-tensor)" or "float32". */
  summary: string;
  input: TensorQuantization | null;
  output: TensorQuantization | null;
  /** Per convolution (our layer name): weights, bias and output activations. */
  layers: Record<string, { weights: TensorQuantization | null; bias: TensorQuantization | null; output: TensorQuantization | null }>;
}

export interface TfliteModel {
  file: string;
  sha256: string;
  bytes: Uint8Array;
  model: Model;
}

/** A tensor's constant data as float32 (dequantized), and its shape. */
export interface ConstTensor {
  name: string;
  shape: number[];
  data: Float32Array;
  quantization: TensorQuantization | null;
}

export async function readTfliteFile(file: string): Promise<TfliteModel> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (err) {
    throw new Error(`${file}: cannot read the model file (${fsReason(err)})`);
  }
  return parseTflite(bytes, file);
}

export function parseTflite(bytes: Uint8Array, file: string): TfliteModel {
  if (bytes.length < 16 || Model.identifier(bytes) !== 'TFL3') {
    throw new Error(`${file}: not a TensorFlow Lite model (no "TFL3" file identifier at byte 4)`);
  }
  let model: Model;
  try {
    model = Model.fromBytes(bytes);
    if (model.subgraphs().length === 0) throw new Error('no subgraphs');
    // Walk every table once: a truncated or damaged file fails here, not later with odd shapes.
    for (const sg of model.subgraphs()) {
      for (const t of sg.tensors()) {
        t.shape();
        t.quantization()?.scale();
        t.quantization()?.zeroPoint();
      }
      for (const op of sg.operators()) op.inputs();
    }
    for (const b of model.buffers()) b.data();
  } catch (err) {
    throw new Error(`${file}: truncated or corrupt TensorFlow Lite flatbuffer (${(err as Error).message})`);
  }
  return { file, sha256: createHash('sha256').update(bytes).digest('hex'), bytes, model };
}

/** Is this file a TFLite flatbuffer? (by its identifier, not its name) */
export async function isTfliteFile(file: string): Promise<boolean> {
  try {
    const fh = await (await import('node:fs/promises')).open(file, 'r');
    try {
      const head = new Uint8Array(8);
      await fh.read(head, 0, 8, 0);
      return Model.identifier(head) === 'TFL3';
    } finally {
      await fh.close();
    }
  } catch {
    return false;
  }
}

export function quantizationOf(t: Tensor): TensorQuantization | null {
  const q = t.quantization();
  const type = TENSOR_TYPE_NAMES[t.type()] ?? `type ${t.type()}`;
  if (!q || q.scale().length === 0) return null;
  if (q.detailsType() !== 0) throw new Error(`tensor ${t.name()}: custom quantization is not supported`);
  const scale = q.scale();
  const zp = q.zeroPoint();
  const zeroPoint = zp.length === scale.length ? zp : zp.length === 0 ? scale.map(() => 0) : zp.length === 1 ? scale.map(() => zp[0]) : null;
  if (!zeroPoint) throw new Error(`tensor ${t.name()}: ${scale.length} scales but ${zp.length} zero points`);
  return scale.length > 1 ? { type, scale, zeroPoint, dimension: q.quantizedDimension() } : { type, scale, zeroPoint };
}

/**
 * Dequantize a constant tensor to float32: float32/float16 as they are; uint8, int8, int16,
 * int32 (biases) as scale * (q - zero_point), per tensor or per channel along the
 * quantized dimension.
 */
export function dequantize(t: Tensor, raw: Uint8Array, where: string): Float32Array {
  const shape = t.shape();
  const count = shape.reduce((a, b) => a * b, 1);
  const type = t.type();
  const width = type === TensorType.FLOAT32 || type === TensorType.INT32 ? 4 : type === TensorType.FLOAT16 || type === TensorType.INT16 ? 2 : type === TensorType.UINT8 || type === TensorType.INT8 ? 1 : 0;
  if (!width) throw new Error(`${where}: tensor type ${TENSOR_TYPE_NAMES[type] ?? type} is not supported`);
  if (raw.length !== count * width) throw new Error(`${where}: buffer holds ${raw.length} bytes, shape [${shape}] of ${TENSOR_TYPE_NAMES[type]} needs ${count * width}`);
  // Copy to an aligned buffer: flatbuffer vectors are aligned, but not necessarily to 4 in our view.
  const bytes = raw.slice();
  const view = new DataView(bytes.buffer);
  const out = new Float32Array(count);
  if (type === TensorType.FLOAT32) {
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  if (type === TensorType.FLOAT16) {
    for (let i = 0; i < count; i++) out[i] = float16ToFloat32(view.getUint16(2 * i, true));
    return out;
  }
  const q = quantizationOf(t);
  const read =
    type === TensorType.UINT8 ? (i: number) => bytes[i] : type === TensorType.INT8 ? (i: number) => view.getInt8(i) : type === TensorType.INT16 ? (i: number) => view.getInt16(2 * i, true) : (i: number) => view.getInt32(4 * i, true);
  if (!q) {
    // An unquantized integer constant (shapes, axes): its values as they are.
    for (let i = 0; i < count; i++) out[i] = read(i);
    return out;
  }
  if (q.scale.length === 1) {
    const s = q.scale[0];
    const z = q.zeroPoint[0];
    for (let i = 0; i < count; i++) out[i] = s * (read(i) - z);
    return out;
  }
  const dim = q.dimension ?? 0;
  if (dim < 0 || dim >= shape.length || shape[dim] !== q.scale.length) {
    throw new Error(`${where}: ${q.scale.length} per-channel scales along dimension ${dim} of shape [${shape}]`);
  }
  const inner = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  const channels = shape[dim];
  for (let i = 0; i < count; i++) {
    const c = Math.floor(i / inner) % channels;
    out[i] = q.scale[c] * (read(i) - q.zeroPoint[c]);
  }
  return out;
}

/** The float32 value of a constant tensor: its buffer, or the output of a DEQUANTIZE of a constant. */
export function constantOf(m: TfliteModel, index: number, producers: Map<number, Operator>, where: string): ConstTensor {
  const sg = m.model.subgraphs()[0];
  const t = sg.tensors()[index];
  if (!t) throw new Error(`${m.file}: ${where}: tensor ${index} does not exist`);
  if (t.isSparse()) throw new Error(`${m.file}: ${where}: tensor ${t.name()} is sparse; not supported`);
  const buffer = m.model.buffers()[t.buffer()];
  const data = buffer?.data();
  if (data && data.length > 0) {
    return { name: t.name(), shape: t.shape(), data: dequantize(t, data, `${m.file}: ${where}: tensor ${t.name()}`), quantization: quantizationOf(t) };
  }
  if (buffer && buffer.externalOffset() > 0n) throw new Error(`${m.file}: ${where}: tensor ${t.name()} keeps its data outside the flatbuffer (models over 2 GB); not supported`);
  const p = producers.get(index);
  const opCode = p ? builtinCode(m, p) : -1;
  if (p && opCode === Op.DEQUANTIZE) {
    const src = constantOf(m, p.inputs()[0], producers, where);
    return { ...src, name: t.name() };
  }
  throw new Error(`${m.file}: ${where}: tensor ${t.name() || index} is not a constant`);
}

export function builtinCode(m: TfliteModel, op: Operator): number {
  const code = m.model.operatorCodes()[op.opcodeIndex()];
  if (!code) throw new Error(`${m.file}: operator with opcode index ${op.opcodeIndex()} outside the operator_codes table`);
  return code.builtinCode();
}

const opName = (code: number) => OP_NAMES[code] ?? `builtin op ${code}`;

function activationOf(a: number, where: string): Activation {
  if (a === ActivationFunctionType.NONE) return 'none';
  if (a === ActivationFunctionType.RELU) return 'relu';
  if (a === ActivationFunctionType.RELU6) return 'relu6';
  throw new Error(`${where}: fused activation ${a} is not supported (ReLU and ReLU6 only)`);
}

/** A readable layer name from TFLite's tensor names ("MobilenetV1/MobilenetV1/Conv2d_1_depthwise/depthwise_Fold;..." -> "Conv2d_1_depthwise"). */
function layerName(weightName: string, fallback: string): string {
  const first = weightName.split(';')[0];
  const parts = first.split('/').filter((p) => p && !/^(MobilenetV1|mobilenet.*|model)$/i.test(p));
  return parts[0] && !/_Fold$|^weights/.test(parts[0]) ? parts[0] : fallback;
}

export interface TfliteOptions {
  preprocess?: Preprocess;
}

export async function convertTfliteModel(file: string, opts: TfliteOptions = {}): Promise<BackboneSpec> {
  return convertTflite(await readTfliteFile(file), opts);
}

export function convertTflite(m: TfliteModel, opts: TfliteOptions = {}): BackboneSpec {
  const file = m.file;
  const subgraphs = m.model.subgraphs();
  const sg = subgraphs[0];
  const tensors = sg.tensors();
  const ops = sg.operators();
  const producers = new Map<number, Operator>();
  const consumers = new Map<number, Operator[]>();
  for (const op of ops) {
    for (const o of op.outputs()) producers.set(o, op);
    for (const i of op.inputs()) {
      if (i < 0) continue;
      if (!consumers.has(i)) consumers.set(i, []);
      consumers.get(i)!.push(op);
    }
  }
  const isConst = (i: number): boolean => {
    const data = m.model.buffers()[tensors[i]?.buffer() ?? 0]?.data();
    if (data && data.length > 0) return true;
    const p = producers.get(i);
    return !!p && builtinCode(m, p) === Op.DEQUANTIZE && isConst(p.inputs()[0]);
  };

  const inputs = sg.inputs();
  if (inputs.length !== 1) throw new Error(`${file}: expected one input tensor, found ${inputs.length}`);
  const input = tensors[inputs[0]];
  const inShape = input.shape();
  if (inShape.length !== 4 || inShape[3] !== 3 || inShape[1] !== inShape[2]) throw new Error(`${file}: input ${input.name()} has shape [${inShape}], expected [1, S, S, 3]`);
  const inputSize = inShape[1];
  const inQ = quantizationOf(input);

  const layers: ConvLayer[] = [];
  const quant: TfliteQuantization = { summary: '', input: inQ, output: null, layers: {} };
  let cur = inputs[0];
  let last: ConvLayer | null = null;
  let pendingPad = false;
  let output = '';
  let spatial = inputSize;
  const after: string[] = [];
  for (;;) {
    const next = (consumers.get(cur) ?? []).filter((op) => !op.outputs().every(isConst));
    if (next.length !== 1) throw new Error(`${file}: tensor ${tensors[cur].name()} feeds ${next.length} operators; expected one chain of convolutions`);
    const op = next[0];
    const code = builtinCode(m, op);
    const outIdx = op.outputs()[0];
    const where = `operator ${ops.indexOf(op)} (${opName(code)}, output ${tensors[outIdx]?.name().split(';')[0]})`;
    const dataInputs = op.inputs().filter((i) => i >= 0 && !isConst(i));
    if (dataInputs.length !== 1 || dataInputs[0] !== cur) throw new Error(`${file}: ${where}: takes ${dataInputs.length} non-constant inputs; only a plain chain is supported`);
    const outQ = tensors[outIdx] ? quantizationOf(tensors[outIdx]) : null;
    if (code === Op.CONV_2D || code === Op.DEPTHWISE_CONV_2D) {
      const w = constantOf(m, op.inputs()[1], producers, where);
      const biasIdx = op.inputs()[2];
      const bias = biasIdx !== undefined && biasIdx >= 0 ? constantOf(m, biasIdx, producers, where) : null;
      const layer = convLayer(code, op, w, bias, layers.length === 0, pendingPad, spatial, `${file}: ${where}`);
      pendingPad = false;
      spatial = Math.ceil(spatial / layer.stride);
      layers.push(layer);
      last = layer;
      quant.layers[layer.name] = { weights: w.quantization, bias: bias?.quantization ?? null, output: outQ };
    } else if (code === Op.ADD || code === Op.SUB || code === Op.MUL) {
      // A per-channel affine after a convolution: an unfolded BatchNorm.
      if (!last || last.activation !== 'none' || pendingPad) throw new Error(`${file}: ${where}: only a per-channel constant directly after a convolution is supported`);
      const c = constantOf(m, op.inputs().find((i) => i !== cur)!, producers, where);
      const v = c.data.length === last.outChannels ? c.data : c.data.length === 1 ? new Float32Array(last.outChannels).fill(c.data[0]) : null;
      if (!v) throw new Error(`${file}: ${where}: constant has ${c.data.length} values for ${last.outChannels} channels`);
      const ones = new Float32Array(last.outChannels).fill(1);
      if (code === Op.MUL) foldScale(last, v, new Float32Array(last.outChannels));
      else foldScale(last, ones, code === Op.SUB ? v.map((x) => -x) : v);
      last.activation = activationOf(op.options(ActivationOptions)?.activation() ?? 0, `${file}: ${where}`);
      if (quant.layers[last.name]) quant.layers[last.name].output = outQ;
    } else if (code === Op.RELU || code === Op.RELU6) {
      if (!last || pendingPad) throw new Error(`${file}: ${where}: an activation must follow a convolution`);
      const act: Activation = code === Op.RELU6 ? 'relu6' : 'relu';
      if (last.activation !== 'none' && !(last.activation === 'relu' && act === 'relu6')) throw new Error(`${file}: ${where}: a second activation after ${last.name}`);
      last.activation = act;
      if (quant.layers[last.name]) quant.layers[last.name].output = outQ;
    } else if (code === Op.QUANTIZE || code === Op.DEQUANTIZE) {
      // Activation (de)quantization: the identity in float.
    } else if (code === Op.PAD) {
      const pads = constantOf(m, op.inputs()[1], producers, where).data;
      if (Array.from(pads).join(',') !== '0,0,0,1,0,1,0,0') throw new Error(`${file}: ${where}: padding [${Array.from(pads)}] is not SAME-equivalent ((0,1),(0,1))`);
      pendingPad = true;
    } else if (code === Op.AVERAGE_POOL_2D) {
      const p = op.options(Pool2DOptions);
      if (!p || p.filterWidth() !== spatial || p.filterHeight() !== spatial || p.padding() !== Padding.VALID) {
        throw new Error(`${file}: ${where}: a ${p?.filterWidth()}x${p?.filterHeight()} average pool on a ${spatial}x${spatial} map is not a global average pool`);
      }
      output = tensors[outIdx].name();
      quant.output = outQ;
      cur = outIdx;
      break;
    } else if (code === Op.MEAN) {
      const axes = Array.from(constantOf(m, op.inputs()[1], producers, where).data);
      if (axes.join(',') !== '1,2') throw new Error(`${file}: ${where}: MEAN over axes [${axes}] is not a global average pool`);
      output = tensors[outIdx].name();
      quant.output = outQ;
      cur = outIdx;
      break;
    } else {
      throw new Error(`${file}: ${where}: unsupported operator ${opName(code)} in the backbone`);
    }
    cur = outIdx;
  }
  // What follows the pool (a classifier, reshapes) is not part of the backbone; say what it is.
  for (let t = cur, guard = 0; guard < 16; guard++) {
    const next = consumers.get(t) ?? [];
    if (next.length !== 1) break;
    after.push(opName(builtinCode(m, next[0])));
    t = next[0].outputs()[0];
  }
  const types = new Set(Object.values(quant.layers).map((l) => l.weights?.type ?? 'float32'));
  const perChannel = Object.values(quant.layers).some((l) => (l.weights?.scale.length ?? 0) > 1);
  const actType = quant.output?.type ?? 'float32';
  quant.summary =
    [...types].every((t) => t === 'float32' || t === 'float16')
      ? [...types].join('/') + ' weights, float activations'
      : `${[...types].join('/')} weights (${perChannel ? 'per-channel' : 'per-tensor'}), ${actType} activations; dequantized to float32`;

  let preprocess = opts.preprocess;
  if (!preprocess) {
    if (inQ && inQ.scale.length === 1 && (input.type() === TensorType.UINT8 || input.type() === TensorType.INT8)) {
      // Bytes go in as they are: a uint8 input's q is the byte; an int8 input's q is byte - 128.
      const z = inQ.zeroPoint[0] + (input.type() === TensorType.INT8 ? 128 : 0);
      const s = inQ.scale[0];
      preprocess = { scale: s, offset: -z * s, range: `${fmt(-z * s)}..${fmt((255 - z) * s)} ((x - ${z}) * ${fmt(s)}, the input quantization of the TFLite model)` };
    } else {
      preprocess = PREPROCESS_SIGNED;
    }
  }
  const source: TfliteSource = { format: 'tflite', file, sha256: m.sha256, output, quantization: quant };
  if (after.length) source.after = after;
  if (subgraphs.length > 1) source.note = `only the first of ${subgraphs.length} subgraphs is read`;
  return mobileNetV1Spec(layers, inputSize, preprocess, source);
}

/** The manifest's `source` for a TFLite conversion: provenance of the quantization too. */
export interface TfliteSource {
  [more: string]: unknown;
  format: 'tflite';
  file: string;
  sha256: string;
  output: string;
  quantization: TfliteQuantization;
  /** Operators after the global pool, not converted (a classifier, reshapes). */
  after?: string[];
  note?: string;
}

const fmt = (v: number) => String(Number(v.toPrecision(6)));

function convLayer(code: number, op: Operator, w: ConstTensor, bias: ConstTensor | null, first: boolean, padded: boolean, spatial: number, where: string): ConvLayer {
  // TFLite layouts: CONV_2D filter [out, kh, kw, in] (OHWI); DEPTHWISE_CONV_2D [1, kh, kw, C * multiplier].
  const opts = code === Op.CONV_2D ? op.options(Conv2DOptions) : op.options(DepthwiseConv2DOptions);
  if (!opts) throw new Error(`${where}: no options`);
  if (opts.dilationW() !== 1 || opts.dilationH() !== 1) throw new Error(`${where}: dilated convolutions are not supported`);
  const stride = opts.strideW();
  if (opts.strideH() !== stride || (stride !== 1 && stride !== 2)) throw new Error(`${where}: strides ${opts.strideW()}x${opts.strideH()} not supported`);
  const activation = activationOf(opts.activation(), where);
  const padding = opts.padding();
  if (w.shape.length !== 4) throw new Error(`${where}: filter shape [${w.shape}] is not 4-D`);
  const name = layerName(w.name, `${code === Op.CONV_2D ? 'conv' : 'dw'}_${op.outputs()[0]}`);
  const padOk = (k: number) => (padding === Padding.SAME && !padded) || (padded && padding === Padding.VALID && stride === 2 && spatial % 2 === 0) || k === 1;
  if (code === Op.DEPTHWISE_CONV_2D) {
    const [one, kh, kw, c] = w.shape;
    const mult = (opts as DepthwiseConv2DOptions).depthMultiplier();
    if (one !== 1 || kh !== 3 || kw !== 3 || (mult !== 1 && mult !== 0)) throw new Error(`${where}: depthwise filter [${w.shape}] (multiplier ${mult}) is not 3x3 with multiplier 1`);
    if (!padOk(3)) throw new Error(`${where}: padding ${padding === Padding.VALID ? 'VALID' : 'SAME'} not supported here`);
    const b = new Float32Array(c);
    if (bias) b.set(checkBias(bias, c, where));
    // [1, 3, 3, C] is already [3, 3, C].
    return { name, kind: 'depthwise', stride, inChannels: c, outChannels: c, activation, kernel: Float32Array.from(w.data), bias: b };
  }
  const [co, kh, kw, ci] = w.shape;
  const b = new Float32Array(co);
  if (bias) b.set(checkBias(bias, co, where));
  const hwio = new Float32Array(w.data.length);
  for (let o = 0; o < co; o++) for (let t = 0; t < kh * kw; t++) for (let i = 0; i < ci; i++) hwio[(t * ci + i) * co + o] = w.data[(o * kh * kw + t) * ci + i];
  if (kh === 3 && kw === 3 && first) {
    if (!padOk(3)) throw new Error(`${where}: padding ${padding === Padding.VALID ? 'VALID' : 'SAME'} not supported here`);
    return { name, kind: 'stem', stride, inChannels: ci, outChannels: co, activation, kernel: hwio, bias: b };
  }
  if (kh === 1 && kw === 1 && stride === 1 && !padded) {
    return { name, kind: 'pointwise', stride: 1, inChannels: ci, outChannels: co, activation, kernel: hwio, bias: b };
  }
  throw new Error(`${where}: a ${kh}x${kw} stride ${stride} CONV_2D is not part of MobileNet V1`);
}

function checkBias(bias: ConstTensor, channels: number, where: string): Float32Array {
  if (bias.data.length !== channels) throw new Error(`${where}: bias has ${bias.data.length} values for ${channels} channels`);
  return bias.data;
}
