// The FacegpuRmsprop kernel: inputs value, ms (mean square) and grad of one variable, attrs
// lr, rho, eps; outputs the new value and the new mean square, from shaders/rmsprop.wgsl
// (or rmsprop_scalar.wgsl).
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { TfjsGpu } from './bridge.ts';

export const RMSPROP_KERNEL = 'FacegpuRmsprop';

const WG = 64;

export function rmspropKernel(inputs: NamedTensorInfoMap, attrs: NamedAttrMap, gpu: TfjsGpu): TensorInfo[] {
  const { value, ms, grad } = inputs as Record<'value' | 'ms' | 'grad', TensorInfo>;
  const shape = value.shape;
  for (const [name, t] of [['ms', ms], ['grad', grad]] as const) {
    if (t.shape.join() !== shape.join() || t.dtype !== 'float32') throw new Error(`${RMSPROP_KERNEL}: ${name} is ${t.dtype} [${t.shape}], the variable float32 [${shape}]`);
  }
  const size = shape.reduce((p, d) => p * d, 1);
  const lr = attrs.lr as number;
  const rho = attrs.rho as number;
  const newValue = gpu.output([...shape]);
  const newMs = gpu.output([...shape]);
  // Four values per lane where the size allows (a lane's loads cost per load on a CPU driver).
  const vec4 = size % 4 === 0;
  const lanes = vec4 ? size / 4 : size;
  gpu.run([
    {
      label: `rmsprop ${size}`,
      kernel: { shader: vec4 ? 'rmsprop' : 'rmsprop_scalar', constants: { WG } },
      uniforms: [
        ['u32', lanes],
        ['f32', lr],
        ['f32', rho],
        ['f32', 1 - rho],
        ['f32', attrs.eps as number],
      ],
      storage: [gpu.buffer(value), gpu.buffer(ms), gpu.buffer(grad), gpu.buffer(newValue), gpu.buffer(newMs)],
      workgroups: [gpu.strideGroups(lanes, WG)],
    },
  ]);
  return [newValue, newMs];
}
