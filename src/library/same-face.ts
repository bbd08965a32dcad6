// Which face found in a photo searched again is a face stored for it before, so that it keeps
// that face's name, cluster and corrections (store-node.ts's storePhotos). Pure.
//
// By the descriptors, not by where the boxes are: a photo replaced by another under the same
// name (a camera that numbers from IMG_0001 again) has a stranger where the named face was,
// and a photo turned by its EXIF Orientation has its faces elsewhere.

/**
 * Cosine similarity (of normalised descriptors) at or above which a face found again is the
 * face stored there before. Measured on the 121 faces of 5-celebrity-faces (the default
 * backbone, mean-l2, lavapipe; scratch script, 2026-12-07): different people's faces, 5549
 * pairs, at most 0.374 (p99.9 0.306); the same photo saved again as a JPEG of quality 85, its
 * faces at 0.416 and up (p1 0.884, median 0.988); shrunk to 0.6 of its size, p5 0.759; turned
 * a quarter, median 0.861 (p5 0.325: a face on its side is framed worse). So above every pair
 * of different people, and below what re-saving keeps.
 */
export const SAME_FACE_SIMILARITY = 0.4;

/**
 * Pair each fresh face with the stored face it is (one to one, the most similar pairs first,
 * at SAME_FACE_SIMILARITY or above). `unit` turns a raw descriptor into a unit vector as the
 * gallery compares them. Returns, per fresh face, the index of its stored face, or -1.
 */
export function sameFaces(stored: readonly Float32Array[], fresh: readonly Float32Array[], unit: (raw: Float32Array) => Float32Array): number[] {
  const out = fresh.map(() => -1);
  if (!stored.length || !fresh.length) return out;
  const a = stored.map(unit);
  const b = fresh.map(unit);
  const pairs: { s: number; f: number; sim: number }[] = [];
  for (let s = 0; s < a.length; s++) {
    for (let f = 0; f < b.length; f++) {
      let sim = 0;
      for (let i = 0; i < a[s].length; i++) sim += a[s][i] * b[f][i];
      if (sim >= SAME_FACE_SIMILARITY) pairs.push({ s, f, sim });
    }
  }
  pairs.sort((x, y) => y.sim - x.sim);
  const taken = new Set<number>();
  for (const p of pairs) {
    if (out[p.f] >= 0 || taken.has(p.s)) continue;
    out[p.f] = p.s;
    taken.add(p.s);
  }
  return out;
}
