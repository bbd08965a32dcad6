// How descriptors of labelled faces compare, to check a synthetic model against the real
// descriptors it was fitted to: every pair's cosine, genuine (same person) and impostor
// (different people), their means and spreads, and TAR at FAR 1e-3 (src/gallery/calibration.ts).
import { tarAtFar } from '../src/gallery/calibration.ts';
import { dot } from '../src/gallery/pair-scores.ts';

export interface PairStats {
  faces: number;
  people: number;
  genuinePairs: number;
  impostorPairs: number;
  genuineMean: number;
  genuineSd: number;
  impostorMean: number;
  impostorSd: number;
  /** Threshold for FAR 1e-3 over the impostor pairs, and the share of genuine pairs at or above it. */
  thresholdAtFar1e3: number;
  tarAtFar1e3: number;
}

const meanSd = (a: Float32Array): [number, number] => {
  let s = 0;
  for (const v of a) s += v;
  const m = s / a.length;
  let ss = 0;
  for (const v of a) ss += (v - m) ** 2;
  return [m, Math.sqrt(ss / Math.max(a.length - 1, 1))];
};

/** x [n, dim] unit rows, person[i] row i's person. All n(n-1)/2 pairs. */
export function pairStats(x: Float32Array, dim: number, person: ArrayLike<number>): PairStats {
  const n = x.length / dim;
  let same = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (person[i] === person[j]) same++;
  const genuine = new Float32Array(same);
  const impostor = new Float32Array((n * (n - 1)) / 2 - same);
  let g = 0;
  let m = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const s = Math.fround(dot(x, i * dim, x, j * dim, dim));
      if (person[i] === person[j]) genuine[g++] = s;
      else impostor[m++] = s;
    }
  }
  const roc = tarAtFar(genuine, impostor, 1e-3);
  const [gm, gs] = meanSd(genuine);
  const [im, is] = meanSd(impostor);
  const r = (v: number) => Number(v.toFixed(4));
  return {
    faces: n,
    people: new Set(Array.from(person)).size,
    genuinePairs: same,
    impostorPairs: impostor.length,
    genuineMean: r(gm),
    genuineSd: r(gs),
    impostorMean: r(im),
    impostorSd: r(is),
    thresholdAtFar1e3: r(roc.threshold),
    tarAtFar1e3: r(roc.tar),
  };
}
