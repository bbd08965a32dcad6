// Converter from a TensorFlow.js *layers* model with Keras names (e.g. the ImageNet
// MobileNet V1 exports of tfjs-models) to our BackboneSpec. Layers are read in order up to
// the global average pool; BatchNormalization is folded into the convolution before it.
import { foldScale, mobileNetV1Spec, PREPROCESS_SIGNED, type BackboneSpec, type ConvLayer, type Preprocess } from './spec.ts';
import { getWeight, type TfjsArtifacts } from './tfjs-artifacts.ts';

interface KerasLayer {
  class_name: string;
  name?: string;
  config: Record<string, any>;
  inbound_nodes?: any[];
}

export function convertLayersModel(model: TfjsArtifacts, opts: { preprocess?: Preprocess } = {}): BackboneSpec {
  const file = model.file;
  const config = model.json.modelTopology?.model_config ?? model.json.modelTopology;
  const list: KerasLayer[] | undefined = config?.config?.layers ?? config?.layers;
  if (!Array.isArray(list)) throw new Error(`${file}: no model_config.config.layers: not a layers model`);
  const weight = (layer: string, suffix: string, shape?: number[]) => {
    const exact = `${layer}/${suffix}`;
    if (model.weights.has(exact)) return getWeight(model, exact, shape);
    // Some exports prefix weight names with the model's name.
    const found = [...model.weights.keys()].find((k) => k.endsWith(`/${exact}`));
    return getWeight(model, found ?? exact, shape);
  };

  const layers: ConvLayer[] = [];
  let inputSize = 224;
  let output = '';
  let prev = '';
  // Set by a ZeroPadding2D, consumed by the VALID convolution after it.
  let pendingPad = false;
  for (const l of list) {
    const name: string = l.config?.name ?? l.name ?? '?';
    const where = `${file}: layer ${name}`;
    const inbound = l.inbound_nodes?.[0]?.[0]?.[0] ?? l.inbound_nodes?.[0]?.args?.[0]?.config?.keras_history?.[0];
    if (prev && inbound && inbound !== prev) throw new Error(`${where}: takes input from ${inbound}, not from ${prev}; only a plain chain is supported`);
    prev = name;
    const last = layers[layers.length - 1];
    switch (l.class_name) {
      case 'InputLayer': {
        const shape = l.config.batch_input_shape ?? l.config.batch_shape;
        if (Array.isArray(shape) && shape[1]) inputSize = shape[1];
        break;
      }
      case 'Conv2D': {
        const [kh, kw] = l.config.kernel_size;
        const stride = l.config.strides?.[0] ?? 1;
        const k = weight(name, 'kernel');
        const [, , ci, co] = k.shape;
        let kind: ConvLayer['kind'];
        if (kh === 3 && kw === 3 && layers.length === 0) kind = 'stem';
        else if (kh === 1 && kw === 1 && stride === 1) kind = 'pointwise';
        else throw new Error(`${where}: a ${kh}x${kw} stride ${stride} Conv2D is not part of MobileNet V1`);
        if (kind === 'stem' && l.config.padding !== 'same' && !pendingPad) throw new Error(`${where}: padding ${l.config.padding} not supported`);
        pendingPad = false;
        const layer: ConvLayer = { name, kind, stride, inChannels: ci, outChannels: co, activation: activationOf(l.config.activation, where), kernel: Float32Array.from(k.data), bias: new Float32Array(co) };
        if (l.config.use_bias) layer.bias.set(weight(name, 'bias', [co]).data);
        layers.push(layer);
        break;
      }
      case 'DepthwiseConv2D': {
        const k = weight(name, 'depthwise_kernel');
        const [kh, kw, c, m] = k.shape;
        if (kh !== 3 || kw !== 3 || m !== 1) throw new Error(`${where}: depthwise kernel [${k.shape}] is not 3x3 with multiplier 1`);
        if (l.config.padding !== 'same' && !pendingPad) throw new Error(`${where}: padding ${l.config.padding} not supported`);
        pendingPad = false;
        const layer: ConvLayer = { name, kind: 'depthwise', stride: l.config.strides?.[0] ?? 1, inChannels: c, outChannels: c, activation: activationOf(l.config.activation, where), kernel: Float32Array.from(k.data), bias: new Float32Array(c) };
        if (l.config.use_bias) layer.bias.set(weight(name, 'bias', [c]).data);
        layers.push(layer);
        break;
      }
      case 'ZeroPadding2D': {
        // Keras >= 2.2 writes SAME padding at stride 2 as ZeroPadding2D(((0,1),(0,1))) + VALID,
        // which is what TensorFlow's SAME does for even input sizes.
        const p = JSON.stringify(l.config.padding);
        if (p !== '[[0,1],[0,1]]') throw new Error(`${where}: padding ${p} is not SAME-equivalent`);
        pendingPad = true;
        break;
      }
      case 'BatchNormalization': {
        if (!last || last.activation !== 'none') throw new Error(`${where}: BatchNormalization must directly follow a convolution`);
        const c = last.outChannels;
        const eps = l.config.epsilon ?? 1e-3;
        const gamma = l.config.scale === false ? new Float32Array(c).fill(1) : weight(name, 'gamma', [c]).data;
        const beta = l.config.center === false ? new Float32Array(c) : weight(name, 'beta', [c]).data;
        const mean = weight(name, 'moving_mean', [c]).data;
        const variance = weight(name, 'moving_variance', [c]).data;
        const scale = new Float32Array(c);
        const shift = new Float32Array(c);
        for (let i = 0; i < c; i++) {
          scale[i] = gamma[i] / Math.sqrt(variance[i] + eps);
          shift[i] = beta[i] - mean[i] * scale[i];
        }
        foldScale(last, scale, shift);
        break;
      }
      case 'Activation':
      case 'ReLU': {
        if (!last) throw new Error(`${where}: activation before any convolution`);
        const act = l.class_name === 'ReLU' ? (l.config.max_value === 6 ? 'relu6' : l.config.max_value == null ? 'relu' : 'bad') : activationOf(l.config.activation, where);
        if (act === 'bad') throw new Error(`${where}: ReLU with max_value ${l.config.max_value} is not supported`);
        last.activation = act as ConvLayer['activation'];
        break;
      }
      case 'GlobalAveragePooling2D':
        output = name;
        break;
      default:
        throw new Error(`${where}: unsupported layer type ${l.class_name} in the backbone`);
    }
    if (output) break;
  }
  if (!output) throw new Error(`${file}: no GlobalAveragePooling2D layer: the descriptor has no defined end`);
  return mobileNetV1Spec(layers, inputSize, opts.preprocess ?? PREPROCESS_SIGNED, { format: 'tfjs-layers', file, sha256: model.sha256, output });
}

function activationOf(a: unknown, where: string): ConvLayer['activation'] {
  if (a === undefined || a === null || a === 'linear') return 'none';
  if (a === 'relu') return 'relu';
  if (a === 'relu6') return 'relu6';
  throw new Error(`${where}: activation ${JSON.stringify(a)} is not supported`);
}
