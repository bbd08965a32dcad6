// Calibration maths on hand-made scores: thresholds for a FAR and their tie rule, TAR, EER,
// the rule of ten, sampled score lists, leave-one-out templates; and normalisation.
import { describe, expect, it } from 'vitest';
import { countAtOrAbove, eer, farAt, nextUp32, sampleScores, supported, tarAt, tarAtFar, templateOf, thresholdForFar } from '../src/gallery/calibration.ts';
import { calibrate, compactJson, validateCalibration } from '../src/gallery/calibration-record.ts';
import { checkNormalisation, normalise, type NormalisationRecord } from '../src/gallery/normalise.ts';
import { dot, facePairScores, leaveOneOut, templatePairScores, templatesOf } from '../src/gallery/pair-scores.ts';
import { syntheticFaces, unitRows } from '../src/gallery/synthetic.ts';

const f = Math.fround;
const tenths = Array.from({ length: 10 }, (_, i) => f((i + 1) / 10)); // 0.1 .. 1.0

describe('thresholdForFar', () => {
  it('is the next float32 above the (m+1)-th highest impostor, m = floor(far * N)', () => {
    expect(thresholdForFar(tenths, 0.1)).toBe(nextUp32(f(0.9))); // accepts 1.0 only
    expect(farAt(tenths, thresholdForFar(tenths, 0.1))).toBe(0.1);
    expect(thresholdForFar(tenths, 0.05)).toBe(nextUp32(1)); // m = 0: accepts none
    expect(thresholdForFar(tenths, 0.25)).toBe(nextUp32(f(0.8))); // m = 2
    expect(thresholdForFar([...tenths].reverse(), 0.25)).toBe(nextUp32(f(0.8))); // any order
  });

  it('is the smallest such threshold: one float32 lower accepts one impostor too many', () => {
    const s = thresholdForFar(tenths, 0.2);
    expect(farAt(tenths, s)).toBeLessThanOrEqual(0.2);
    expect(farAt(tenths, f(0.8))).toBeGreaterThan(0.2); // the float32 just below s
  });

  it('rejects every impostor tied with the deciding score (the achieved FAR can be lower)', () => {
    const tied = [f(0.2), f(0.5), f(0.5), f(0.5)];
    const s = thresholdForFar(tied, 0.5); // m = 2, the 3rd highest is 0.5
    expect(s).toBe(nextUp32(f(0.5)));
    expect(farAt(tied, s)).toBe(0);
    expect(tarAtFar([f(0.5), f(0.6)], tied, 0.5)).toMatchObject({ threshold: s, tar: 0.5, far: 0, genuinePairs: 2, impostorPairs: 4, supported: false });
  });

  it('accepts everything at FAR 1 and refuses no impostors or a FAR <= 0', () => {
    expect(thresholdForFar(tenths, 1)).toBe(-1);
    expect(() => thresholdForFar([], 0.01)).toThrow(/no impostor scores/);
    expect(() => thresholdForFar(tenths, 0)).toThrow(/FAR must be > 0/);
  });

  it('nextUp32 steps one float32 up, across zero too', () => {
    expect(nextUp32(1)).toBe(1 + 2 ** -23);
    expect(nextUp32(-1)).toBe(-1 + 2 ** -24);
    expect(nextUp32(0)).toBeGreaterThan(0);
    expect(nextUp32(0.7)).toBe(f(0.7) > 0.7 ? f(0.7) : nextUp32(f(0.7)));
  });
});

describe('TAR, EER and the rule of ten', () => {
  it('TAR counts genuine scores at or above the threshold', () => {
    expect(tarAt(tenths, f(0.5))).toBe(0.6);
    expect(tarAt(tenths, nextUp32(f(0.5)))).toBe(0.5);
    expect(() => tarAt([], 0.5)).toThrow(/no genuine/);
  });

  it('EER where the curves meet exactly', () => {
    expect(eer([0.9, 0.8], [0.85, 0.1])).toMatchObject({ eer: 0.5, threshold: 0.85, genuinePairs: 2, impostorPairs: 2 });
    expect(eer([0.9, 0.8], [0.1, 0.2])).toMatchObject({ eer: 0, threshold: 0.8 }); // separated
  });

  it('EER interpolated between two thresholds', () => {
    // s = 0.7: FAR 2/3, FRR 1/2; s = 0.8: FAR 1/3, FRR 1/2 -> they cross half way.
    const r = eer([0.6, 0.9], [0.5, 0.7, 0.8]);
    expect(r.eer).toBeCloseTo(0.5, 12);
    expect(r.threshold).toBeCloseTo(0.75, 12);
  });

  it('EER of reversed scores is 1 and of identical ones 1/2-ish', () => {
    expect(eer([0.1], [0.9]).eer).toBe(1);
    expect(eer([0.5, 0.5], [0.5, 0.5]).eer).toBeCloseTo(0.5, 12);
  });

  it('a FAR is supported by at least 10 / FAR impostor pairs', () => {
    expect(supported(0.01, 999)).toBe(false);
    expect(supported(0.01, 1000)).toBe(true);
    expect(supported(0.001, 10_000)).toBe(true);
    expect(supported(0.001, 9_999)).toBe(false);
  });
});

describe('sampled scores', () => {
  const values = Array.from({ length: 10_000 }, (_, i) => f(Math.sin(i * 12.9898) * 0.5)); // scattered in [-0.5, 0.5]
  const sample = sampleScores(values, { cap: 1000 });

  it('keeps the top half exactly and quantiles of the rest', () => {
    const sorted = [...values].sort((a, b) => a - b);
    expect(sample.total).toBe(10_000);
    expect(sample.top).toEqual(sorted.slice(-500));
    expect(sample.rest).toHaveLength(500);
    expect(sample.rest[0]).toBe(sorted[0]);
    expect(sample.rest.at(-1)).toBe(sorted[9_499]);
  });

  it('gives exact thresholds where the exact top reaches and close ones below', () => {
    for (const far of [1e-4, 1e-3, 0.01, 0.049]) expect(thresholdForFar(sample, far)).toBe(thresholdForFar(values, far));
    for (const far of [0.1, 0.3, 0.7]) {
      const s = thresholdForFar(sample, far);
      const achieved = farAt(values, s);
      expect(achieved).toBeLessThanOrEqual(far + 1e-9); // conservative
      expect(achieved).toBeGreaterThan(far - 0.005);
    }
    expect(countAtOrAbove(sample, 0)).toBeCloseTo(values.filter((v) => v >= 0).length, -2);
    expect(eer(sample, sampleScores(values.map((v) => v - 0.2), { cap: 1000 })).eer).toBeCloseTo(eer(values, values.map((v) => v - 0.2)).eer, 2);
  });

  it('counts misses as genuine comparisons never accepted', () => {
    const g = sampleScores([0.9, 0.8], { misses: 2 });
    expect(g.total).toBe(4);
    expect(tarAt(g, -1)).toBe(0.5);
    expect(eer(g, [0.1]).eer).toBe(0.5); // FRR never drops below 1/2
  });
});

describe('pair scores', () => {
  it('templateOf is the re-normalised mean of the normalised descriptors', () => {
    const t = templateOf(new Float32Array([2, 0, 0, 3]), 2);
    expect(t[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(t[1]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(() => templateOf(new Float32Array(3), 2)).toThrow(/not one or more 2-d/);
  });

  it('leave-one-out compares a face with its person template built without it', () => {
    const dim = 16;
    const { descriptors } = syntheticFaces({ seed: 3, dim, people: 1, perPerson: 4, noise: 2 });
    const x = unitRows(descriptors.slice(), dim);
    const t = templatesOf(x, [0, 0, 0, 0], 1, dim);
    for (let i = 0; i < 4; i++) {
      const others = new Float32Array(3 * dim);
      let k = 0;
      for (let j = 0; j < 4; j++) if (j !== i) others.set(x.subarray(j * dim, (j + 1) * dim), dim * k++);
      const explicit = dot(x, i * dim, templateOf(others, dim), 0, dim);
      expect(leaveOneOut(x, i, t, 0, dim)).toBeCloseTo(explicit, 5);
    }
    // Two orthogonal faces: each against the other alone.
    const two = new Float32Array([1, 0, 0, 1]);
    expect(leaveOneOut(two, 0, templatesOf(two, [0, 0], 1, 2), 0, 2)).toBeCloseTo(0, 7);
    // One face: no genuine pair.
    expect(leaveOneOut(two, 0, templatesOf(two, [0, 1], 2, 2), 0, 2)).toBeNull();
  });

  it('counts the pairs of each kind', () => {
    // People of 3, 2 and 1 faces: 6 faces.
    const dim = 8;
    const person = [0, 0, 0, 1, 1, 2];
    const x = unitRows(syntheticFaces({ seed: 1, dim, people: 6, perPerson: 1 }).descriptors, dim);
    const t = templatePairScores(x, person, 3, dim);
    expect(t.genuine).toHaveLength(5); // the one-face person gives none
    expect(t.impostor).toHaveLength(6 * 2);
    expect(t.openSetImpostor).toHaveLength(6);
    expect(t.openSetGenuine.length + t.openSetMisses).toBe(5);
    const fp = facePairScores(x, person, dim);
    expect(fp.genuine).toHaveLength(3 + 1);
    expect(fp.impostor).toHaveLength(15 - 4);
    // The open-set impostor is the best of the other templates.
    const templates = templatesOf(x, person, 3, dim).templates;
    expect(t.openSetImpostor[5]).toBe(Math.max(f(dot(x, 5 * dim, templates, 0, dim)), f(dot(x, 5 * dim, templates, dim, dim))));
  });

  it('with data sets, impostor pairs only within one; a face whose set has no other person meets no impostor', () => {
    // People 0, 1 (set 0: 3 and 2 faces), 2, 3 (set 1: 2 faces and 1), 4 (set 2, alone: 1 face).
    const dim = 8;
    const person = [0, 0, 0, 1, 1, 2, 2, 3, 4];
    const dataSet = [0, 0, 1, 1, 2];
    const x = unitRows(syntheticFaces({ seed: 4, dim, people: 9, perPerson: 1 }).descriptors, dim);
    const t = templatePairScores(x, person, 5, dim, { dataSet });
    // Each face against the other templates of its set: 5 faces x 1, 3 faces x 1, the lone one none.
    expect(t.impostor).toHaveLength(5 + 3);
    expect(t.openSetImpostor).toHaveLength(8);
    const templates = templatesOf(x, person, 5, dim).templates;
    expect(t.openSetImpostor[0]).toBe(f(dot(x, 0, templates, 1 * dim, dim))); // face 0 meets person 1 only
    expect(t.openSetGenuine.length + t.openSetMisses).toBe(3 + 2 + 2); // people 0, 1, 2's faces; 3 has one face, 4 no impostor
    const fp = facePairScores(x, person, dim, { dataSet });
    expect(fp.genuine).toHaveLength(3 + 1 + 1);
    expect(fp.impostor).toHaveLength(3 * 2 + 2 * 1); // set 0: 3 x 2 pairs across people; set 1: 2 x 1
    // Without data sets, every pair across people counts, as before.
    expect(templatePairScores(x, person, 5, dim).impostor).toHaveLength(9 * 4);
    expect(facePairScores(x, person, dim).impostor).toHaveLength(36 - 5);
  });

  it('a rank-1 error is an identify miss', () => {
    // Face 0 of person 0 is closer to person 1's template (0.96) than to its own without it (0.8).
    const x = new Float32Array([0, 1, 0.6, 0.8, -0.28, 0.96, -0.28, 0.96]);
    const t = templatePairScores(x, [0, 0, 1, 1], 2, 2);
    expect(t.openSetMisses).toBe(1);
    expect(t.openSetGenuine).toHaveLength(3);
  });

  it('bounds the work by sampling faces', () => {
    const dim = 8;
    const { descriptors, person } = syntheticFaces({ seed: 2, dim, people: 10, perPerson: 10 });
    const x = unitRows(descriptors, dim);
    const c = calibrate(x, person, 10, dim, { maxPairs: 200 });
    expect(c.facesUsed).toEqual({ verify: 20, template: 20 });
    expect(c.kinds.verify.genuine.total + c.kinds.verify.impostor.total).toBe(190);
    expect(c.kinds.template.impostor.total).toBe(20 * 9);
    expect(c.kinds.template.genuine.total).toBe(100); // leave-one-out costs nothing: all faces
  });

  it('a calibration survives its compact JSON as float32 values', () => {
    const dim = 32;
    const { descriptors, person } = syntheticFaces({ seed: 5, dim, people: 8, perPerson: 4 });
    const c = calibrate(unitRows(descriptors, dim), person, 8, dim);
    const back = JSON.parse(compactJson(c));
    validateCalibration(back, 'test');
    expect(back.kinds).toEqual(c.kinds);
    expect(thresholdForFar(back.kinds.identify.impostor, 0.1)).toBe(thresholdForFar(c.kinds.identify.impostor, 0.1));
    expect(() => validateCalibration({ ...back, kinds: { ...back.kinds, verify: { genuine: { total: 3, misses: 0, top: [0.2, 0.1], rest: [] }, impostor: back.kinds.verify.impostor } } }, 'cal.json')).toThrow(
      /cal.json: verify.genuine: "top" is not in ascending order/,
    );
    // What a gallery's calibration took as named twice: by person key and face id.
    const named = { from: 0.8, people: [{ a: 0, b: 3, similarity: 0.9 }], faces: [{ face: 7, other: 0, otherFace: 2, similarity: 0.99 }, { face: 8, other: 3, similarity: 0.85 }] };
    validateCalibration({ ...back, namedTwice: named }, 'cal.json');
    validateCalibration({ ...back, namedTwice: { from: null, people: [], faces: [] } }, 'cal.json');
    expect(() => validateCalibration({ ...back, namedTwice: { ...named, from: 'high' } }, 'cal.json')).toThrow('cal.json: "namedTwice.from" must be a similarity or null');
    expect(() => validateCalibration({ ...back, namedTwice: { ...named, people: [{ a: 'Ann', b: 'Bo', similarity: 0.9 }] } }, 'cal.json')).toThrow('cal.json: "namedTwice.people" must be a list of {"a", "b": person keys, "similarity"}');
    expect(() => validateCalibration({ ...back, namedTwice: { ...named, faces: [{ face: 7, other: 0, otherFace: -1, similarity: 0.99 }] } }, 'cal.json')).toThrow('cal.json: "namedTwice.faces" must be a list of');
    expect(() => validateCalibration({ ...back, namedTwice: { ...named, faces: [{ face: 7, other: 0, similarity: 2 }] } }, 'cal.json')).toThrow('"namedTwice.faces"');
  });
});

describe('normalisation', () => {
  it("'l2' gives unit rows", () => {
    const x = normalise(new Float32Array([3, 4, 0, 0, 0, 2]), 3, { method: 'l2' });
    expect(Array.from(x)).toEqual([f(0.6), f(0.8), 0, 0, 0, 1]);
  });

  it("'mean-l2' subtracts the mean first", () => {
    const rec: NormalisationRecord = { method: 'mean-l2', mean: [1, 1], source: 'test' };
    expect(Array.from(normalise(new Float32Array([4, 5, 1, 3]), 2, rec))).toEqual([f(0.6), f(0.8), 0, 1]);
    expect(() => normalise(new Float32Array([1, 1]), 2, rec)).toThrow(/descriptor 0 has zero norm after subtracting the mean/);
  });

  it('refuses broken input and unknown records', () => {
    expect(() => normalise(new Float32Array(5), 2, { method: 'l2' })).toThrow(/not a whole number of 2-d/);
    expect(() => normalise(new Float32Array([0, 0]), 2, { method: 'l2' })).toThrow(/zero norm/);
    expect(() => normalise(new Float32Array([NaN, 0]), 2, { method: 'l2' })).toThrow(/non-finite/);
    expect(() => checkNormalisation({ method: 'whiten' }, 2, 'g.json')).toThrow('g.json: unknown normalisation method "whiten" (this facegpu knows l2, mean-l2)');
    expect(() => checkNormalisation({ method: 'mean-l2', mean: [1], source: 's' }, 2, 'g.json')).toThrow(/needs "mean", 2 finite numbers \(got 1 values\)/);
  });
});
