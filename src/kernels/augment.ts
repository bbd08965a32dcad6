// The op description of shaders/augment.wgsl: `count` views of width x height packed RGB,
// each sampled from its source image through its output->source map (src/train/augment.ts
// draws the maps and packs them with packViews).
import type { Binding, OpDesc } from '../gpu/runner.ts';
import { grid1d } from './common.ts';

export interface AugmentProblem {
  /** The source images, packed RGB. */
  src: Binding;
  /** The views' maps and sources (packViews). */
  views: Binding;
  /** count x width x height packed RGB. */
  dst: Binding;
  count: number;
  width: number;
  height: number;
  /** Keras' interpolation_order: 1 bilinear, 0 nearest. */
  interpolation: 'bilinear' | 'nearest';
}

export function augmentOp(p: AugmentProblem, wg = 64): OpDesc {
  const words = Math.ceil((p.count * p.width * p.height * 3) / 4);
  return {
    label: `augment [${p.count} views]`,
    kernel: { shader: 'augment', constants: { WG: wg, BILINEAR: p.interpolation === 'bilinear' ? 1 : 0 } },
    uniforms: { words, width: p.width, height: p.height, view_count: p.count },
    storage: { src: p.src, views: p.views, dst: p.dst },
    // An invocation per 4 output pixels (3 words).
    workgroups: grid1d(Math.ceil(Math.ceil((p.count * p.width * p.height) / 4) / wg)),
  };
}
