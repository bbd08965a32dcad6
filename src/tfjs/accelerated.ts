// Which tfjs backends run our kernels, and what each kernel needs of its backend: the bridge
// to our runner and the tilings for its device. Set by accelerateTfjs (kernels.ts), read by
// the kernels and by the ops that call our own kernels (fused-ops.ts, rmsprop.ts).
import type { TfjsGpu } from './bridge.ts';
import type { Tuning } from '../kernels/common.ts';
import type { MatmulTiling } from '../kernels/matmul.ts';

export interface Accelerated {
  gpu: TfjsGpu;
  tiling: MatmulTiling;
  /** The backbone's tuning, for its depthwise and pointwise kernels. */
  tuning: Tuning;
}

const accelerated = new WeakMap<object, Accelerated>();

export function setAccelerated(backend: object, acc: Accelerated): void {
  accelerated.set(backend, acc);
}

/** What our kernels need of an accelerated backend, or undefined. */
export function accelerationOf(backend: unknown): Accelerated | undefined {
  return backend ? accelerated.get(backend as object) : undefined;
}

/** The bridge of an accelerated backend, or null. */
export function acceleratedGpu(backend: unknown): TfjsGpu | null {
  return accelerationOf(backend)?.gpu ?? null;
}

/**
 * Run `fn` with `backend` on tfjs' own kernels, its acceleration (if any) restored after: the
 * page's benchmark measures tfjs-webgpu itself on the page's backend, which is accelerated.
 * Other tfjs work meanwhile runs correctly, on tfjs' kernels.
 */
export async function withoutAcceleration<T>(backend: object, fn: () => Promise<T>): Promise<T> {
  const acc = accelerated.get(backend);
  if (acc) accelerated.delete(backend);
  try {
    return await fn();
  } finally {
    if (acc) accelerated.set(backend, acc);
  }
}
