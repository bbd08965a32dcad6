// How similar a stranger's face gets to the best of many cluster templates, estimated from the
// library itself. Platform-neutral.
//
// Clustering's last step attaches a face left as noise to the cluster whose mean direction it
// is most similar to. Against C clusters a stranger (someone seen once) gets C tries, so the
// best of them rises with C: a fixed threshold of 0.4 let no stranger of ORL into one of 45
// clusters, but on 100 000 drawn faces (6 184 clusters) it let 2 251 of 2 422 people seen once
// into somebody's cluster (src/library/README.md, "Clustering at library scale"). The bound
// here moves with C: the similarity of a face to a cluster it is not in is, over the library,
// close to normal with mean m and deviation s (measured from pairs drawn from the library), so
// the best of C stays under m + s z with probability about 1 - rate when the chance of one try
// is rate / C (z its normal quantile; a union bound, so it errs safe).
import { probit } from 'simple-statistics';
import { dot } from '../gallery/pair-scores.ts';
import { deriveSeed, Prng } from '../train/prng.ts';

/** Pairs (face, cluster it is not in) drawn for the estimate. */
const PAIRS = 20_000;
/** Draws tried before giving up on finding that many pairs (one cluster holding every face). */
const MAX_DRAWS = 10 * PAIRS;

/**
 * The similarity under which the best of `directions.length` cluster templates stays for a
 * stranger's face, at `rate` (the chance that it does not); null when the library has no face
 * outside some cluster to measure with. `x`: unit rows [n, dim]; `owner[f]`: the cluster of
 * face f or -1; `directions`: the clusters' unit mean directions [C, dim].
 */
export function strangerBound(x: Float32Array, dim: number, owner: Int32Array, directions: Float32Array, rate: number): { similarity: number; mean: number; sd: number; pairs: number } | null {
  if (!(rate > 0 && rate < 1)) throw new Error(`strangerBound: the rate must be in (0, 1), got ${rate}`);
  const n = owner.length;
  const c = directions.length / dim;
  if (!n || !c) return null;
  // Seeded by the library's size, so the same library gets the same bound.
  const prng = new Prng(deriveSeed(n, 'stranger-bound', c));
  let sum = 0;
  let sumSq = 0;
  let pairs = 0;
  for (let draws = 0; pairs < PAIRS && draws < MAX_DRAWS; draws++) {
    const f = prng.int(n);
    const k = prng.int(c);
    if (owner[f] === k) continue;
    const s = dot(x, f * dim, directions, k * dim, dim);
    sum += s;
    sumSq += s * s;
    pairs++;
  }
  if (pairs < 2) return null;
  const mean = sum / pairs;
  const sd = Math.sqrt(Math.max(0, sumSq / pairs - mean * mean));
  return { similarity: mean + sd * probit(1 - rate / c), mean, sd, pairs };
}
