// The clustering metrics on cases small enough to count by hand: pairwise precision and
// recall, the adjusted Rand index (one case is scikit-learn's documented 0.24), noise as
// singletons, and the errors.
import { describe, expect, it } from 'vitest';
import { clusterQuality } from '../src/library/cluster-quality.ts';

describe('clusterQuality', () => {
  it('is perfect for the true partition, whatever the cluster numbers', () => {
    const q = clusterQuality([7, 7, 3, 3, 3], ['a', 'a', 'b', 'b', 'b']);
    expect(q).toMatchObject({ faces: 5, clusters: 2, people: 2, noise: 0, clusteredPairs: 4, personPairs: 4, truePairs: 4, precision: 1, recall: 1, ari: 1 });
  });

  it('one cluster for two people: precision 1/3, recall 1, ARI 0', () => {
    // Pairs in the cluster: 6; of one person: 1 + 1; both: 2. Expected by chance 6 x 2 / 6 = 2 = truePairs.
    const q = clusterQuality([0, 0, 0, 0], ['a', 'a', 'b', 'b']);
    expect(q.precision).toBeCloseTo(1 / 3, 12);
    expect(q.recall).toBe(1);
    expect(q.ari).toBeCloseTo(0, 12);
  });

  it("matches scikit-learn's adjusted_rand_score([0,0,0,1,1,1], [0,0,1,1,2,2]) = 0.2424...", () => {
    // truePairs 2, clustered 3, person 6, all 15: (2 - 1.2) / (4.5 - 1.2) = 0.8 / 3.3.
    const q = clusterQuality([0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 1]);
    expect(q.ari).toBeCloseTo(0.8 / 3.3, 12);
    expect(q.precision).toBeCloseTo(2 / 3, 12);
    expect(q.recall).toBeCloseTo(2 / 6, 12);
  });

  it('counts noise faces as alone: recall falls, precision does not, the fraction is reported', () => {
    // Person a has 3 faces (3 pairs), one pair kept; b's face is noise too.
    const q = clusterQuality([0, 0, -1, -1], ['a', 'a', 'a', 'b']);
    expect(q).toMatchObject({ clusters: 1, people: 2, noise: 2, noiseFraction: 0.5, clusteredPairs: 1, personPairs: 3, truePairs: 1, precision: 1 });
    expect(q.recall).toBeCloseTo(1 / 3, 12);
    // Expected 1 x 3 / 6 = 0.5, max (1 + 3) / 2 = 2.
    expect(q.ari).toBeCloseTo(0.5 / 1.5, 12);
  });

  it('does not confuse a person 1 with a person "1"', () => {
    const q = clusterQuality([0, 0], [1, '1']);
    expect(q.people).toBe(2);
    expect(q.truePairs).toBe(0);
  });

  it('refuses mismatched lengths and labels that are not clusters or noise', () => {
    expect(() => clusterQuality([0, 0], ['a'])).toThrow(/2 predicted labels but 1 true/);
    expect(() => clusterQuality([0, -2], ['a', 'b'])).toThrow(/label -2 of face 1/);
    expect(() => clusterQuality([0, 0.5], ['a', 'b'])).toThrow(/label 0.5 of face 1/);
  });
});
