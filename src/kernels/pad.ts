// The op description of shaders/pad_channels.wgsl: constant padding of the last axis, in whole
// groups of four channels, for tfjs' PadV2 (src/tfjs/kernels/pad.ts).
import type { Binding, OpDesc } from '../gpu/runner.ts';

export interface PadChannelsProblem {
  label: string;
  /** [rows, c] in, [rows, before + c + after] out; c, before and after multiples of 4. */
  x: Binding;
  y: Binding;
  rows: number;
  c: number;
  before: number;
  after: number;
  /** The padding's value. */
  value: number;
  /** Workgroups of the grid-stride loop. */
  groups: number;
}

/** Workgroup size of the grid-stride loop. */
export const PAD_WG = 64;

export function padChannelsOp(p: PadChannelsProblem): OpDesc {
  if ([p.c, p.before, p.after].some((v) => v % 4 !== 0)) throw new Error(`${p.label}: pad_channels pads whole groups of four channels, got ${p.before} + ${p.c} + ${p.after}`);
  const outC4 = (p.before + p.c + p.after) / 4;
  return {
    label: p.label,
    kernel: { shader: 'pad_channels', constants: { WG: PAD_WG } },
    uniforms: { rows: p.rows, c4: p.c / 4, out_c4: outC4, before4: p.before / 4, value: p.value },
    storage: { x: p.x, y: p.y },
    workgroups: [p.groups],
  };
}
