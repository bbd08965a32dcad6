// The check that an engine on other kernels (a tuning, fused pairs) embeds what the default
// engine embeds, shared by the tuner's tests.
import { expect } from 'vitest';
import type { MobileNetEngine } from '../../src/mobilenet/engine.ts';
import { cosine, randomArray } from './layout.ts';

/**
 * Embeds the same random images with both engines, batches of 1 and 3 (the pixels of a batch
 * of n drawn with seed `seed + n`), and expects every descriptor of `engine` to have cosine
 * >= 0.99999 with `plain`'s.
 */
export async function expectSameDescriptors(plain: MobileNetEngine, engine: MobileNetEngine, seed: number): Promise<void> {
  for (const n of [1, 3]) {
    const size = engine.inputSize;
    const pixels = Uint8Array.from(randomArray(n * size * size * 3, seed + n, 0, 256), Math.floor);
    const want = await plain.embed(pixels, n);
    const got = await engine.embed(pixels, n);
    const d = engine.outputDim;
    for (let i = 0; i < n; i++) expect(cosine(got.subarray(i * d, (i + 1) * d), want.subarray(i * d, (i + 1) * d))).toBeGreaterThanOrEqual(0.99999);
  }
}
