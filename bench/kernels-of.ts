// The distinct kernels of a backbone: one entry per different (kind, input shape, output
// channels, stride), with the weights of the first layer of that shape, unpacked from our
// padded format back to TensorFlow's layouts so that tfjs computes with the very same numbers.
import type { MobileNetEngine } from '../src/mobilenet/engine.ts';
import type { ImageShape } from '../src/kernels/common.ts';
import type { PackedLayer } from '../src/weights/format.ts';
import { floatsAt, unpackMat4, unpackVec4 } from '../src/weights/unpack.ts';

export type KernelKind = 'stem' | 'depthwise' | 'pointwise' | 'pool';

export interface KernelCase {
  /** e.g. "pointwise 14x14 512->512". */
  name: string;
  kind: KernelKind;
  /** Layers of the backbone with this shape. */
  layers: string[];
  input: ImageShape;
  outChannels: number;
  stride: number;
  /** The packed tensors our kernel reads (null for pooling). */
  packed: { weights: Float32Array; bias: Float32Array } | null;
  /** The same numbers in TensorFlow layouts: stem [3,3,in,out], depthwise [3,3,C,1], pointwise [1,1,in,out]. */
  tf: { filter: Float32Array; filterShape: number[]; bias: Float32Array } | null;
  activation: PackedLayer['activation'];
}

function shapeName(kind: KernelKind, inp: ImageShape, cout: number, stride: number): string {
  const s = stride > 1 ? ` /${stride}` : '';
  if (kind === 'pool') return `global avg pool ${inp.h}x${inp.w}x${inp.c}`;
  if (kind === 'depthwise') return `depthwise ${inp.h}x${inp.w}x${inp.c}${s}`;
  return `${kind} ${inp.h}x${inp.w} ${inp.c}->${cout}${s}`;
}

/** Every distinct kernel of the engine's backbone at batch n, in network order. */
export function distinctKernels(engine: MobileNetEngine, data: ArrayBuffer, n: number): KernelCase[] {
  const out: KernelCase[] = [];
  const byName = new Map<string, KernelCase>();
  const shapes = engine.layerShapes(n);
  engine.manifest.layers.forEach((l, i) => {
    const input = shapes[i].in;
    const name = shapeName(l.kind, input, l.outChannels, l.stride);
    const seen = byName.get(name);
    if (seen) {
      seen.layers.push(l.name);
      return;
    }
    const w = floatsAt(data, l.weights);
    const bias = floatsAt(data, l.bias);
    const taps = l.kind === 'pointwise' ? 1 : 9;
    const tf =
      l.kind === 'depthwise'
        ? { filter: unpackVec4(w, 9, l.outChannels), filterShape: [3, 3, l.outChannels, 1], bias: unpackVec4(bias, 1, l.outChannels) }
        : {
            filter: unpackMat4(w, taps, l.inChannels, l.outChannels),
            filterShape: l.kind === 'stem' ? [3, 3, l.inChannels, l.outChannels] : [1, 1, l.inChannels, l.outChannels],
            bias: unpackVec4(bias, 1, l.outChannels),
          };
    const k: KernelCase = {
      name, kind: l.kind, layers: [l.name], input, outChannels: l.outChannels, stride: l.stride,
      packed: { weights: w, bias }, tf, activation: l.activation,
    };
    byName.set(name, k);
    out.push(k);
  });
  const last = shapes[shapes.length - 1].out;
  out.push({
    name: shapeName('pool', last, last.c, 1), kind: 'pool', layers: ['global_pooling'], input: last,
    outChannels: last.c, stride: 1, packed: null, tf: null, activation: 'none',
  });
  return out;
}
