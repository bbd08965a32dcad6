// Which faces are more like another person than their own, and which two people may be one
// person under two names: pure arithmetic on the calibration's view of a gallery (its faces
// by name group, those it leaves out gone), which Gallery names and keeps per calibration.
import type { DefaultCalibration } from './calibration-record.ts';
import { addUnit, cosine, leaveOneOut, similarity, type Templates } from './pair-scores.ts';

/**
 * Why two people may be one under two names (likenessOf): `all`, every face of one of them
 * is more like the other (a person's only face, too); `most`, most faces of one and some of
 * the other's are; `alike`, the faces of each that are not are alike (`similarity`: their
 * templates').
 */
export interface OnePerson {
  because: 'all' | 'most' | 'alike';
  similarity: number | null;
}

/** OnePerson in words (the CLI's and the stats'). */
export function alikeBecause(one: OnePerson): string {
  if (one.because === 'all') return 'every face of one of them is more like the other';
  if (one.because === 'most') return 'most faces of one of them are more like the other, and some of the other\'s more like it';
  return `the faces of each that are not more like the other are alike too (${one.similarity!.toFixed(3)})`;
}

/**
 * The highest score of a face against a different person's template in a default
 * calibration's reference (its people are all different): a person's faces more like
 * another's template than that are more alike than anything of two different people there.
 * Infinity where it has none.
 */
export function differentPeopleHighest(d: DefaultCalibration): number {
  return d.kinds.template.impostor.top.at(-1) ?? Infinity;
}

/** The faces and people to compare: the calibration's view and its templates (templatesOf). */
export interface LikenessInput {
  /** [faces, dim] unit descriptors. */
  x: Float32Array;
  /** Each face's person (name group). */
  group: Int32Array;
  t: Templates;
  dim: number;
  /** The people face `k` is compared with (its own is skipped): everyone in a small gallery, the nearest in a large one. */
  others: (k: number) => Iterable<number>;
  /** differentPeopleHighest of the default calibration; Infinity without one (no two people are then taken for one). */
  apart: number;
}

/**
 * By face `k` of the view and person `p`, `q`: `faces`, those more like person `q` than their
 * own person's other faces (`own`: to them; null for a person's only face), most similar
 * first, with whether the two may be one person (`one`); `stranger`, every face's best score
 * against another person's template, highest first; `alike`, pairs that may be one person
 * though no face of either is more like the other, by their most alike face
 * (`faceSimilarity`).
 */
export interface Likeness {
  faces: { k: number; q: number; similarity: number; own: number | null; one: OnePerson | null }[];
  stranger: { k: number; q: number; similarity: number }[];
  alike: { k: number; q: number; similarity: number; faceSimilarity: number }[];
}

/** One number for an unordered pair of small non-negative integers. */
const pairKey = (p: number, q: number) => (p < q ? p * 0x100000 + q : q * 0x100000 + p);

/** The faces more like another person than their own, every face's stranger score, and the people that may be one (Likeness). */
export function likenessOf(v: LikenessInput): Likeness {
  const { x, group, t, dim, apart } = v;
  const listed: { k: number; q: number; similarity: number; own: number | null }[] = [];
  const best: { k: number; q: number; similarity: number }[] = [];
  for (let k = 0; k < group.length; k++) {
    const p = group[k];
    const own = leaveOneOut(x, k, t, p, dim);
    let top: { k: number; q: number; similarity: number } | null = null;
    // Not against a person of one face: that one photo is weak evidence of what they look
    // like (a real Ben Affleck photo was listed as more like a one-face "ben2" than like
    // his others), and their face is listed the other way round.
    for (const q of v.others(k)) {
      if (q === p || t.counts[q] < 2) continue;
      const s = similarity(x, k * dim, t.templates, q * dim, dim);
      if (!top || s > top.similarity) top = { k, q, similarity: s };
    }
    if (!top) continue;
    // At namedTwiceFrom or above too: a face kept that reaches it here, where a face left out
    // no longer pulls the template away (0.800 here, 0.654 to the template with a copy of
    // another's photo in it), is a score the threshold can rest on.
    best.push(top);
    if (own === null || top.similarity > own) listed.push({ ...top, own });
  }
  best.sort((a, b) => b.similarity - a.similarity);
  const one = mayBeOne(v, listed);
  const faces = listed.map((f) => ({ ...f, one: one(group[f.k], f.q) })).sort((a, b) => b.similarity - a.similarity);
  // Pairs with no face listed between them, by their most alike face, where it reaches
  // another's template as no face of the reference reached a different person's: perhaps
  // one person, where their other faces are alike too.
  const between = new Set(listed.map((f) => pairKey(group[f.k], f.q)));
  const seen = new Set<number>();
  const alike: Likeness['alike'] = [];
  for (const f of best) {
    if (!(f.similarity > apart)) break;
    const key = pairKey(group[f.k], f.q);
    if (between.has(key) || seen.has(key)) continue;
    seen.add(key);
    const o = one(group[f.k], f.q);
    if (o?.because === 'alike') alike.push({ k: f.k, q: f.q, similarity: o.similarity!, faceSimilarity: f.similarity });
  }
  return { faces, stranger: best, alike };
}

/**
 * Whether two people may be one person under two names (OnePerson): every face of one is
 * more like the other than like its own (`listed`), or most faces of one and some of the
 * other's are (web photos of one person under two names: Madonna's 3 under a second name, 2
 * more like her 4, 1 of hers more like them), or the faces of each that are not (their cores)
 * are more alike than any face of the default calibration's reference came to a different
 * person's template (`apart`). The cores leave out the faces listed between the two, so that
 * wrong photos do not make the people look alike (five of s1's photos under s3, among s3's own
 * five: all of s3's others had come to 0.557 to s1; its own five, 0.214); a majority listed
 * one way only is not enough (two of s3's photos and four of s1's under s3). Decided once per
 * pair; never where `apart` is Infinity.
 */
function mayBeOne(v: LikenessInput, listed: readonly { k: number; q: number }[]): (p: number, q: number) => OnePerson | null {
  const { x, group, t, dim, apart } = v;
  const out = new Map<number, { k: number; q: number }[]>();
  for (const f of listed) {
    const key = pairKey(group[f.k], f.q);
    const faces = out.get(key);
    if (faces) faces.push(f);
    else out.set(key, [f]);
  }
  // Of p's faces, those listed as more like q (`moved`: their sum, `movedSum`) and the rest
  // (`count`, `sum`).
  const core = (p: number, q: number) => {
    const sum = Float64Array.from(t.sums.subarray(p * dim, (p + 1) * dim));
    const movedSum = new Float64Array(dim);
    let moved = 0;
    for (const f of out.get(pairKey(p, q)) ?? []) {
      if (group[f.k] !== p) continue;
      addUnit(sum, x, f.k * dim, dim, -1);
      addUnit(movedSum, x, f.k * dim, dim);
      moved++;
    }
    return { sum, movedSum, moved, count: t.counts[p] - moved };
  };
  // The faces of c listed as more like the other are like the other's rest (or all of it)
  // beyond two different people: a one-face name is "listed" against whoever is nearest,
  // however far (a stranger's ORL photo to a celebrity: -0.039).
  const towards = (c: ReturnType<typeof core>, o: ReturnType<typeof core>) => cosine(c.movedSum, o.count ? o.sum : o.movedSum) > apart;
  const decide = (p: number, q: number): OnePerson | null => {
    if (!Number.isFinite(apart)) return null;
    const [cp, cq] = [core(p, q), core(q, p)];
    if ((cp.moved && !cp.count && towards(cp, cq)) || (cq.moved && !cq.count && towards(cq, cp))) return { because: 'all', similarity: null };
    if (cp.moved && cq.moved && ((cp.moved > cp.count && towards(cp, cq)) || (cq.moved > cq.count && towards(cq, cp)))) return { because: 'most', similarity: null };
    if (!cp.count || !cq.count) return null;
    const s = Math.fround(cosine(cp.sum, cq.sum));
    return s > apart ? { because: 'alike', similarity: s } : null;
  };
  // Once per pair: every listed face of a pair asks.
  const decided = new Map<number, OnePerson | null>();
  return (p, q) => {
    const key = pairKey(p, q);
    if (!decided.has(key)) decided.set(key, decide(p, q));
    return decided.get(key)!;
  };
}
