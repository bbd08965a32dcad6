// How well a clustering of faces matches the people they really are, with the labels used
// only here, never by the clustering: pairwise precision and recall (of all pairs of faces
// put together, how many are one person; of all pairs of one person, how many were put
// together) and the adjusted Rand index (agreement of the two partitions corrected for
// chance: 0 for a random grouping, 1 for the true one). Counted from the contingency table,
// so the cost is O(n), not O(n^2) pairs. Platform-neutral.
//
// Faces left as noise (label -1) are each counted as a group of their own: they pair with
// nobody, which lowers recall and never precision; their fraction is reported beside.

export interface ClusterQuality {
  faces: number;
  /** Clusters found (noise not counted) and true people. */
  clusters: number;
  people: number;
  /** Faces left as noise, and their fraction of all faces. */
  noise: number;
  noiseFraction: number;
  /** Pairs of faces in one cluster, pairs of one person, pairs both (true positives). */
  clusteredPairs: number;
  personPairs: number;
  truePairs: number;
  /** truePairs / clusteredPairs (1 when nothing was put together: no wrong pair). */
  precision: number;
  /** truePairs / personPairs (1 when nobody has two faces). */
  recall: number;
  /** Adjusted Rand index (Hubert and Arabie 1985); 1 when both partitions are trivial and equal. */
  ari: number;
}

const pairs = (k: number): number => (k * (k - 1)) / 2;

/**
 * The quality of `predicted` (a cluster label per face, -1 = noise) against `truth` (the
 * person of each face, any value compared with ===).
 */
export function clusterQuality(predicted: ArrayLike<number>, truth: ArrayLike<string | number>): ClusterQuality {
  const n = predicted.length;
  if (truth.length !== n) throw new Error(`clusterQuality: ${n} predicted labels but ${truth.length} true ones`);
  const clusterSize = new Map<number, number>();
  const personSize = new Map<string | number, number>();
  const cell = new Map<string, number>();
  let noise = 0;
  for (let i = 0; i < n; i++) {
    const c = predicted[i];
    if (!Number.isInteger(c) || c < -1) throw new Error(`clusterQuality: label ${c} of face ${i} is not a cluster (>= 0) or noise (-1)`);
    personSize.set(truth[i], (personSize.get(truth[i]) ?? 0) + 1);
    if (c === -1) {
      noise++;
      continue;
    }
    clusterSize.set(c, (clusterSize.get(c) ?? 0) + 1);
    // A key that cannot collide: the person's type and value after the cluster number.
    const key = `${c}\u0000${typeof truth[i]}\u0000${String(truth[i])}`;
    cell.set(key, (cell.get(key) ?? 0) + 1);
  }
  let clusteredPairs = 0;
  for (const k of clusterSize.values()) clusteredPairs += pairs(k);
  let personPairs = 0;
  for (const k of personSize.values()) personPairs += pairs(k);
  let truePairs = 0;
  for (const k of cell.values()) truePairs += pairs(k);
  const all = pairs(n);
  const expected = all > 0 ? (clusteredPairs * personPairs) / all : 0;
  const max = (clusteredPairs + personPairs) / 2;
  // Both partitions all singletons, or both one group: sklearn's convention (identical: 1).
  const ari = max === expected ? 1 : (truePairs - expected) / (max - expected);
  return {
    faces: n,
    clusters: clusterSize.size,
    people: personSize.size,
    noise,
    noiseFraction: n ? noise / n : 0,
    clusteredPairs,
    personPairs,
    truePairs,
    precision: clusteredPairs ? truePairs / clusteredPairs : 1,
    recall: personPairs ? truePairs / personPairs : 1,
    ari,
  };
}
