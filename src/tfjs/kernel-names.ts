// The names of the tfjs kernels registered by src/tfjs/kernels.ts. No imports: the ops that
// call our own kernels (fused-ops.ts, rmsprop.ts) and the graph rewrite (src/detect/fuse.ts)
// name them without pulling in the registry.

/** tfjs' own kernels that ours replace (tfjs-core's kernel_names.ts spells them so). */
export const BATCH_MAT_MUL = 'BatchMatMul';
export const FUSED_MAT_MUL = '_FusedMatMul';
export const CONV2D = 'Conv2D';
export const FUSED_CONV2D = 'FusedConv2D';
export const DEPTHWISE_CONV2D = 'DepthwiseConv2dNative';
export const FUSED_DEPTHWISE_CONV2D = 'FusedDepthwiseConv2D';
export const ADD = 'Add';
export const MULTIPLY = 'Multiply';
export const RELU = 'Relu';
export const STEP = 'Step';
export const SUM = 'Sum';
export const MAX_POOL = 'MaxPool';
export const PAD_V2 = 'PadV2';

/** Kernels of our own, with no tfjs original. */
export const RMSPROP_KERNEL = 'FacegpuRmsprop';
/** relu(conv1x1(x, filter) + bias + residual). */
export const POINTWISE_ADD_RELU = 'FacegpuPointwiseAddRelu';
