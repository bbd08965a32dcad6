// How every benchmark side is checked against our descriptors: the lowest per-image cosine
// similarity. Browser-safe (the page's benchmark uses it too).

/** Lowest per-image cosine similarity of two [n, d] descriptor arrays. */
export function minCosine(a: ArrayLike<number>, b: ArrayLike<number>, n: number): number {
  if (a.length !== b.length || a.length % n !== 0) throw new Error(`descriptor arrays of ${a.length} and ${b.length} values do not both hold ${n} descriptors`);
  const d = a.length / n;
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let k = i * d; k < (i + 1) * d; k++) {
      dot += a[k] * b[k];
      na += a[k] * a[k];
      nb += b[k] * b[k];
    }
    min = Math.min(min, dot / Math.sqrt(na * nb));
  }
  return min;
}
