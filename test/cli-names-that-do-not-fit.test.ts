// The CLI's words for faces under two names (src/cli/match-options.ts tellThreshold), on a
// synthetic gallery: one command per face shown, joined so that one paste removes them all.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tellThreshold } from '../src/cli/match-options.ts';
import { defaultCalibrationFrom } from '../src/gallery/calibration-record.ts';
import { Gallery } from '../src/gallery/gallery.ts';
import { normalise } from '../src/gallery/normalise.ts';
import { rowOf, syntheticFaces } from '../src/gallery/synthetic.ts';
import { oneUnderTwoNames } from './helpers/two-names.ts';

const dim = 1024;
const backbone = { id: 'face', sha256: 'a'.repeat(64) };
const clear = { seed: 31, dim, noise: 1, common: 1 };
const box: [number, number, number, number] = [0, 0, 1, 1];

function galleryWithCopies(copies: [from: number, under: number][]): Gallery {
  const ref = syntheticFaces({ ...clear, firstPerson: 500, people: 20, perPerson: 5 });
  const refCal = defaultCalibrationFrom({ backbone, normalisation: { method: 'l2' }, source: 'clear', descriptors: normalise(ref.descriptors, dim, { method: 'l2' }), person: Array.from(ref.person, (p) => p - 500), people: 20, dim });
  const people = syntheticFaces({ ...clear, people: 4, perPerson: 4 });
  const g = Gallery.create({ backbone, preprocessing: {}, normalisation: { method: 'l2' }, dim, name: 'my gallery', defaultCalibration: refCal });
  for (let p = 0; p < 4; p++) g.addFaces(`p${p}`, [0, 1, 2, 3].map((f) => ({ file: `${p}/${f}.jpg`, box, score: 1, descriptor: rowOf(people.descriptors, dim, p * 4 + f) })));
  for (const [from, under] of copies) g.addFaces(`p${under}`, [{ file: `copy of ${from}.jpg`, box, score: 1, descriptor: rowOf(people.descriptors, dim, from * 4).map((v, i) => v + 0.02 * Math.sin(i)) }]);
  return g;
}

function warnings(g: Gallery, about = 'under two names'): string[] {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'error').mockImplementation((m: unknown) => void lines.push(String(m)));
  try {
    tellThreshold(g, 'identify', { far: 0.01 });
  } finally {
    spy.mockRestore();
  }
  return lines.filter((l) => l.includes(about));
}

describe('faces under two names, told by identify', () => {
  afterEach(() => vi.restoreAllMocks());

  it('one face: its removal', () => {
    const [line] = warnings(galleryWithCopies([[0, 3]]));
    expect(line).toMatch(/1 face in my gallery scores as another person's own/);
    expect(line).toMatch(/If that face is not p3's, remove it with facegpu gallery remove 'my gallery' p3 --photo 'copy of 0\.jpg'$/);
  });

  it('several: one command each, joined with &&', () => {
    const [line] = warnings(galleryWithCopies([[0, 3], [1, 2]]));
    expect(line).toMatch(/2 faces in my gallery score as another person's own/);
    const commands = line.replace(/^.*If those faces are not their people's, remove them with /, '').split(' && ');
    expect(commands.sort()).toEqual(["facegpu gallery remove 'my gallery' p2 --photo 'copy of 1.jpg'", "facegpu gallery remove 'my gallery' p3 --photo 'copy of 0.jpg'"]);
  });

  it("a threshold resting on a person's only face, like another person: merge or remove", () => {
    const g = galleryWithCopies([]);
    const other = syntheticFaces({ ...clear, people: 1, perPerson: 2, faceSeed: 3 }); // another photo of p0, below namedTwiceFrom
    g.addFaces('Ann', [{ file: 'ann.jpg', box, score: 1, descriptor: rowOf(other.descriptors, dim, 0) }]);
    const [line] = warnings(g, 'the threshold rests on');
    expect(line).toMatch(/^facegpu: warning: the threshold rests on ann\.jpg, "Ann"'s only face, which is like "p0" \(0\.\d{3}\): a photo of them\? /);
    expect(line).toMatch(/If they are one person, merge them with facegpu gallery rename 'my gallery' Ann p0; if it is a wrong photo, remove it with facegpu gallery remove 'my gallery' Ann --photo ann\.jpg$/);
    expect(g.stats().namedTwice.restsOn).toMatchObject({ on: 'face', face: { file: 'ann.jpg', person: 'Ann', other: 'p0', own: null } });
    // Names that fit: a threshold resting on different people's faces, nothing said.
    const fit = galleryWithCopies([]);
    expect(fit.thresholdFor('identify', 0.01)).toMatchObject({ source: 'gallery', supported: false });
    expect(warnings(fit, 'the threshold rests on')).toEqual([]);
    expect(fit.stats().namedTwice.restsOn).toBeNull();
  });

  it('a threshold resting on a face more like another person: merge or remove where every face of its name is, remove where the rest of that name is unlike them', () => {
    // Two more photos of p0 as "Ann", both more like p0 than like each other.
    const g = galleryWithCopies([]);
    const a = rowOf(syntheticFaces({ ...clear, people: 1, perPerson: 1, faceSeed: 3 }).descriptors, dim, 0);
    const b = rowOf(syntheticFaces({ ...clear, noise: 2, people: 1, perPerson: 1, faceSeed: 4 }).descriptors, dim, 0);
    g.addFaces('Ann', [{ file: 'a.jpg', box, score: 1, descriptor: a }, { file: 'b.jpg', box, score: 1, descriptor: b }]);
    const [alike] = warnings(g, 'the threshold rests on');
    expect(alike).toMatch(/^facegpu: warning: the threshold rests on a\.jpg under "Ann", which is more like "p0" \(0\.\d{3}\) than like Ann's other faces \(0\.\d{3}\), and every face of one of them is more like the other: one person under two names\? /);
    expect(alike).toMatch(/If so, merge them with facegpu gallery rename 'my gallery' Ann p0; if it is a wrong photo, remove it with facegpu gallery remove 'my gallery' Ann --photo a\.jpg$/);
    // Three of p0's photos among a fifth person's four, as "mix".
    const wrong = galleryWithCopies([]);
    const five = syntheticFaces({ ...clear, people: 5, perPerson: 4 });
    const others = syntheticFaces({ ...clear, people: 1, perPerson: 3, faceSeed: 3 });
    wrong.addFaces('mix', [0, 1, 2, 3].map((f) => ({ file: `4/${f}.jpg`, box, score: 1, descriptor: rowOf(five.descriptors, dim, 16 + f) })));
    wrong.addFaces('mix', [0, 1, 2].map((f) => ({ file: `wrong/${f}.jpg`, box, score: 1, descriptor: rowOf(others.descriptors, dim, f) })));
    const [line] = warnings(wrong, 'the threshold rests on');
    expect(line).toMatch(/^facegpu: warning: the threshold rests on wrong\/\d\.jpg under "mix", which is more like "p0" \(0\.\d{3}\) than like mix's other faces \(0\.\d{3}\): a photo under the wrong name\? If so, remove it with facegpu gallery remove 'my gallery' mix --photo wrong\/\d\.jpg$/);
  });

  it("a threshold resting on a face of its own person against a name that holds that person's photos: their removal", () => {
    // "mix": two photos of a fifth person and three more of p0's, varied (the tester's Elton
    // John with three of Jerry Seinfeld's photos: Jerry's own photo set the threshold at
    // 0.714, the wrong ones 0.711 at most).
    const g = galleryWithCopies([]);
    const five = syntheticFaces({ ...clear, people: 5, perPerson: 4 });
    const others = syntheticFaces({ ...clear, noise: 1.7, people: 1, perPerson: 3, faceSeed: 3 });
    g.addFaces('mix', [16, 17].map((r) => ({ file: `4/${r - 16}.jpg`, box, score: 1, descriptor: rowOf(five.descriptors, dim, r) })));
    g.addFaces('mix', [0, 1, 2].map((f) => ({ file: `wrong/${f}.jpg`, box, score: 1, descriptor: rowOf(others.descriptors, dim, f) })));
    const [line] = warnings(g, 'the threshold rests on');
    expect(line).toMatch(/^facegpu: warning: the threshold rests on 0\/\d\.jpg under "p0" against "mix"'s template \(0\.\d{3}\), which holds \d faces? more like "p0" than like mix's others \(wrong\/\d\.jpg: 0\.\d{3}/);
    expect(line).toMatch(/: photos under the wrong name\? If so, remove (it|them) with facegpu gallery remove 'my gallery' mix --photo wrong\/\d\.jpg( && facegpu gallery remove 'my gallery' mix --photo wrong\/\d\.jpg)*$/);
    // The gallery says it (stats, the page) as the CLI does.
    const { namedTwice, warnings: said } = g.stats();
    expect(namedTwice.restsOn).toMatchObject({ on: 'held', face: { person: 'p0', other: 'mix' } });
    const held = namedTwice.restsOn?.on === 'held' ? namedTwice.restsOn.held : [];
    expect(held.length).toBeGreaterThan(0);
    for (const w of held) expect([w.person, w.other, w.file.startsWith('wrong/')]).toEqual(['mix', 'p0', true]);
    expect(said.filter((w) => w.startsWith('the identify threshold at FAR 0.01 rests on'))).toEqual([
      expect.stringMatching(/^the identify threshold at FAR 0\.01 rests on 0\/\d\.jpg under "p0" against "mix"'s template \(0\.\d{3}\), which holds \d faces? more like "p0" than like mix's others \(wrong\/\d\.jpg: 0\.\d{3}.*\): photos under the wrong name\? removing them from "mix" mends it$/),
    ]);
  });

  it('a threshold resting on two names alike enough to be one, no face more like the other: the merge', () => {
    const g = galleryWithCopies([]);
    g.removePerson('p0');
    const [zoe, zoeB] = oneUnderTwoNames(clear);
    g.addFaces('Zoe', zoe);
    g.addFaces('Zoe B', zoeB);
    const [line] = warnings(g, 'the threshold rests on');
    expect(g.stats().namedTwice.restsOn).toMatchObject({ on: 'alike', alike: { names: ['Zoe', 'Zoe B'] } });
    expect(line).toMatch(/^facegpu: warning: the threshold rests on z\/\d\.jpg under "Zoe( B)?" against "Zoe( B)?"'s template \(0\.\d{3}\): "Zoe" and "Zoe B" look alike \(templates 0\.\d{3}\), more than any two different people of the backbone's reference: one person under two names\? If so, merge them with facegpu gallery rename 'my gallery' 'Zoe B' Zoe$/);
  });
});
