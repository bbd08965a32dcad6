// One synthetic person's photos under two names, as the gallery tests use them.
import type { FaceInput } from '../../src/gallery/gallery.ts';
import { normalise } from '../../src/gallery/normalise.ts';
import { rowOf, syntheticFaces } from '../../src/gallery/synthetic.ts';

/**
 * Six more photos of person 0 of the synthetic data `shape` (faceSeed 5), as two names of
 * three ("z/0.jpg".."z/2.jpg", "z/3.jpg".."z/5.jpg"), each three sharing what a session gives
 * them (as ORL s7's photos 1-3 and 4-5): every face more like its own name's others than the
 * other's template. With the gallery tests' clear shape, their templates are 0.664 alike.
 */
export function oneUnderTwoNames(shape: { seed: number; dim: number; noise: number; common: number }): [FaceInput[], FaceInput[]] {
  const { dim } = shape;
  const more = syntheticFaces({ ...shape, people: 1, perPerson: 6, faceSeed: 5 });
  const session = syntheticFaces({ ...shape, common: 0, firstPerson: 700, people: 2, perPerson: 1 });
  const l2 = (v: Float32Array) => normalise(v, dim, { method: 'l2' });
  const face = (f: number, s: number): FaceInput => ({ file: `z/${f}.jpg`, box: [0, 0, 1, 1], score: 1, descriptor: l2(rowOf(more.descriptors, dim, f)).map((v, d) => v + 0.5 * l2(rowOf(session.descriptors, dim, s))[d]) });
  return [[0, 1, 2].map((f) => face(f, 0)), [3, 4, 5].map((f) => face(f, 1))];
}
