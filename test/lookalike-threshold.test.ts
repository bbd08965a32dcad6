// enroll's lookalike threshold (src/identity/face-gallery.ts LookalikeThreshold): taken again
// after every change of a small gallery, and of a large one only once its faces have grown by
// a quarter, since taking it computes the gallery's calibration anew (seconds).
import { describe, expect, it } from 'vitest';
import { Gallery } from '../src/gallery/gallery.ts';
import { flatIndexProvider } from '../src/gallery/flat-index.ts';
import { syntheticFaces } from '../src/gallery/synthetic.ts';
import { LOOKALIKE_FAR, LookalikeThreshold } from '../src/identity/face-gallery.ts';

const dim = 32;
const s = syntheticFaces({ seed: 5, dim, people: 120, perPerson: 5, noise: 0.8 });
const box: [number, number, number, number] = [0, 0, 1, 1];
function addPeople(g: Gallery, from: number, to: number): void {
  for (let p = from; p < to; p++) g.addFaces(`p${p}`, Array.from({ length: 5 }, (_, k) => ({ file: `p${p}/${k}`, descriptor: s.descriptors.slice((p * 5 + k) * dim, (p * 5 + k + 1) * dim), box, score: 1 })));
}
const make = () => Gallery.create({ name: 'g', backbone: { id: 'synthetic', sha256: '0' }, dim, preprocessing: {}, normalisation: { method: 'l2' }, index: flatIndexProvider });
/** Whether the gallery's calibration is computed now (it is dropped at each change). */
const calibrated = (g: Gallery) => (g as unknown as { cal: unknown }).cal !== null;
const fresh = (g: Gallery) => g.thresholdFor('identify', LOOKALIKE_FAR).threshold;

describe('LookalikeThreshold', () => {
  it('a large gallery: kept while its faces grow by up to a quarter, taken again beyond, and when they shrink', () => {
    const g = make();
    const taker = new LookalikeThreshold(g);
    addPeople(g, 0, 60); // 300 faces
    const first = taker.take();
    expect(first).toBe(fresh(g));
    addPeople(g, 60, 75); // 375 faces: a quarter more
    expect(calibrated(g)).toBe(false);
    expect(taker.take()).toBe(first);
    expect(calibrated(g)).toBe(false); // not computed for it
    addPeople(g, 75, 76); // 380
    const grown = taker.take();
    expect(calibrated(g)).toBe(true);
    expect(grown).toBe(fresh(g));
    g.removePerson('p0'); // 375: fewer than when taken
    expect(calibrated(g)).toBe(false);
    const shrunk = taker.take();
    expect(calibrated(g)).toBe(true);
    expect(shrunk).toBe(fresh(g));
  });

  it('a small gallery: taken again after every change; none for one person without a default calibration', () => {
    const g = make();
    const taker = new LookalikeThreshold(g);
    addPeople(g, 0, 1);
    expect(taker.take()).toBeNull();
    for (let p = 1; p < 6; p++) {
      addPeople(g, p, p + 1);
      expect(calibrated(g)).toBe(false);
      const t = taker.take();
      expect(calibrated(g)).toBe(true);
      expect(t).toBe(fresh(g));
    }
  });
});
