// A rewrite of the BlazeFace graph: each residual join `Relu(Add(skip, conv1x1(x)))` becomes
// one node, FacegpuPointwiseAddRelu(x, filter, bias, skip), run by one kernel of ours
// (src/tfjs/fused-ops.ts) instead of three passes over the activations. Measured on lavapipe,
// the 31 Adds and Relus took a quarter of a detection run after the convolutions went to our
// kernels (src/tfjs/README.md). Same arithmetic; where our kernels are not installed the node
// runs the three tfjs ops it replaces.
import * as tf from '@tensorflow/tfjs-core';
import { registerOp, type GraphNode } from '@tensorflow/tfjs-converter';
import { pointwiseAddRelu, POINTWISE_ADD_RELU } from '../tfjs/fused-ops.ts';

/** A node of a tfjs graph model's topology (the parts the rewrite reads and writes). */
export interface TopologyNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, any>;
}

let registered = false;

/** Teach tfjs-converter the fused node (once per process). */
function registerFusedOp(): void {
  if (registered) return;
  registerOp(POINTWISE_ADD_RELU, (node: GraphNode) => {
    const [x, filter, bias, residual] = node.inputs as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D, tf.Tensor4D];
    return pointwiseAddRelu(x, filter, bias, residual);
  });
  registered = true;
}

const decode = (b64: string) => atob(b64);
const source = (input: string) => input.split(':')[0];
const ones = (list: { i?: string[] } | undefined) => (list?.i ?? ['1']).every((v) => Number(v) === 1);

/** A 1x1, stride 1, undilated NHWC convolution with a bias and nothing else fused. */
function isPointwiseWithBias(n: TopologyNode, shapes: Map<string, number[]>): boolean {
  if (n.op !== '_FusedConv2D' || n.input?.length !== 3) return false;
  const fused = (n.attr?.fused_ops?.list?.s ?? []).map(decode);
  const filter = shapes.get(source(n.input[1]));
  const format = n.attr?.data_format?.s ? decode(n.attr.data_format.s) : 'NHWC';
  return fused.length === 1 && fused[0] === 'BiasAdd' && filter?.[0] === 1 && filter?.[1] === 1 && format === 'NHWC' && ones(n.attr?.strides?.list) && ones(n.attr?.dilations?.list);
}

/**
 * Rewrite `nodes` in place; `weightShapes` are the shapes of the graph's weights by name (the
 * filters). Returns how many joins were fused.
 */
export function fuseResidualJoins(nodes: TopologyNode[], weightShapes: Map<string, number[]>): number {
  registerFusedOp();
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const consumers = new Map<string, number>();
  for (const n of nodes) for (const i of n.input ?? []) consumers.set(source(i), (consumers.get(source(i)) ?? 0) + 1);
  const drop = new Set<string>();
  let fused = 0;
  for (const relu of nodes) {
    if (relu.op !== 'Relu' || relu.input?.length !== 1) continue;
    const add = byName.get(source(relu.input[0]));
    if (!add || (add.op !== 'AddV2' && add.op !== 'Add') || add.input?.length !== 2 || consumers.get(add.name) !== 1) continue;
    // The convolution side: a 1x1 conv + bias read only by this Add (the last of two, if both are).
    const side = [1, 0].find((k) => {
      const c = byName.get(source(add.input![k]));
      return c && isPointwiseWithBias(c, weightShapes) && consumers.get(c.name) === 1;
    });
    if (side === undefined) continue;
    const conv = byName.get(source(add.input[side]))!;
    relu.op = POINTWISE_ADD_RELU;
    relu.input = [...conv.input!, add.input[1 - side]];
    relu.attr = {};
    drop.add(add.name).add(conv.name);
    fused++;
  }
  for (let i = nodes.length - 1; i >= 0; i--) if (drop.has(nodes[i].name)) nodes.splice(i, 1);
  return fused;
}
