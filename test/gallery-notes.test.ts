// The Identify tab's words for names that do not fit the faces (web/gallery-notes.ts): each
// kind said with the page's remedy (rename, a photo's removal), never a command or a flag,
// and cut at a number of each with how many more.
import { describe, expect, it } from 'vitest';
import { galleryNotes, lookalikeNotes } from '../web/gallery-notes.ts';
import type { EnrollReport, GalleryStats } from '../src/browser/index.ts';

const none: GalleryStats['namedTwice'] = { groups: [], faces: [], moreLikeAnother: [], alike: [], restsOn: null };

describe('gallery notes', () => {
  it('says nothing of a gallery whose names fit', () => {
    expect(galleryNotes(none)).toEqual({ notes: [], more: [] });
    expect(lookalikeNotes({ person: 'Ann', added: 2, skipped: [] })).toEqual([]);
  });

  it('one person under two (or three) names: rename the others to the first, which merges them', () => {
    const { notes } = galleryNotes({ ...none, groups: [{ names: ['Ann', 'Ann B'], similarity: 0.9412 }, { names: ['Bo', 'Bob', 'Bobby'], similarity: 0.88 }] });
    expect(notes.map((n) => [n.kind, n.person, n.other])).toEqual([['one-person', 'Ann B', 'Ann'], ['one-person', 'Bob', 'Bo']]);
    expect(notes[0].text).toBe('“Ann B” and “Ann” look like one person (0.941, as alike as one person’s photos), and are counted as one. If they are, rename “Ann B” to “Ann” to merge them.');
    expect(notes[1].text).toContain('“Bob”, “Bobby” and “Bo” look like one person (0.880');
    expect(notes[1].text).toContain('rename each to “Bo”');
  });

  it('a face under two names, against a template or a face; a photo more like someone else', () => {
    const { notes } = galleryNotes({
      ...none,
      faces: [
        { file: 'copy.jpg', person: 'Bo', other: 'Ann', similarity: 0.97 },
        { file: 'dark.jpg', person: 'Bo', other: 'Cy', otherFile: 'cy1.jpg', similarity: 0.985 },
      ],
      moreLikeAnother: [{ file: 'mix.jpg', person: 'Dee', other: 'Cy', similarity: 0.77, own: 0.283, merge: null }],
    });
    expect(notes.map((n) => [n.kind, n.person, n.other, n.file])).toEqual([['same-face', 'Bo', 'Ann', 'copy.jpg'], ['same-face', 'Bo', 'Cy', 'dark.jpg'], ['wrong-name', 'Dee', 'Cy', 'mix.jpg']]);
    expect(notes[0].text).toBe('copy.jpg under “Bo” is “Ann”’s face (0.970): the same face under two names? It is left out of the threshold. If it is not Bo, remove it from Bo’s photos.');
    expect(notes[1].text).toContain('dark.jpg under “Bo” is the face of cy1.jpg under “Cy” (0.985)');
    expect(notes[2].text).toBe('mix.jpg under “Dee” is more like “Cy” (0.770) than Dee’s other photos (0.283): the wrong person’s photo? If so, remove it from Dee’s photos.');
    for (const n of notes) expect(n.text).not.toMatch(/facegpu|--|gallery (remove|rename)/);
    const [only] = galleryNotes({ ...none, moreLikeAnother: [{ file: 'ann.jpg', person: 'Ann', other: 'Bo', similarity: 0.615, own: null, merge: null }] }).notes;
    expect(only.text).toBe('ann.jpg, “Ann”’s only photo, is like “Bo” (0.615): a photo of them? If they are one person, rename “Ann” to “Bo” to merge them; if it is a wrong photo, remove Ann.');
    // Its person's other photos like the other person too: the merge first, into the name the
    // gallery gives (here the other way round).
    const like = (because: 'all' | 'most' | 'alike', similarity: number | null) =>
      galleryNotes({ ...none, moreLikeAnother: [{ file: 'pin.jpg', person: 'Ben', other: 'ben2', similarity: 0.686, own: 0.377, merge: { from: 'ben2', into: 'Ben', because, similarity } }] }).notes[0].text;
    expect(like('all', null)).toBe('pin.jpg under “Ben” is more like “ben2” (0.686) than Ben’s other photos (0.377), and all the photos of one of them are more like the other: one person under two names? If so, rename “ben2” to “Ben” to merge them; if it is the wrong person’s photo, remove it from Ben’s photos.');
    expect(like('most', null)).toContain('and most photos of one of them are more like the other, and some of the other’s more like it: one person under two names?');
    expect(like('alike', 0.539)).toContain('and the photos of each that are not are alike too (0.539): one person under two names?');
    for (const b of ['all', 'most', 'alike'] as const) expect(like(b, 0.5)).not.toMatch(/facegpu|--|gallery (remove|rename)/);
    // Two names alike where the threshold rests on them: among the names that look like one person.
    const [alike] = galleryNotes({ ...none, alike: [{ names: ['Zoe', 'Zoe B'], similarity: 0.667, face: { file: 'z.jpg', person: 'Zoe B', similarity: 0.693 } }] }).notes;
    expect([alike.kind, alike.person, alike.other]).toEqual(['one-person', 'Zoe B', 'Zoe']);
    expect(alike.text).toBe('“Zoe B” and “Zoe” look alike (0.667), more than any two different people of the reference photos, and the threshold rests on them: one person under two names? If so, rename “Zoe B” to “Zoe” to merge them.');
  });

  it("a threshold resting on a person's own face against a name holding that person's photos: those photos' removal, first among the wrong names", () => {
    const held = (n: number) => Array.from({ length: n }, (_, i) => ({ file: `jerry${i}.jpg`, person: 'elton', other: 'jerry', similarity: 0.711 - i / 100, own: 0.3, merge: null }));
    const restsOn = (n: number): GalleryStats['namedTwice']['restsOn'] => ({ on: 'held', face: { file: 'j.jpg', person: 'jerry', other: 'elton', similarity: 0.714 }, held: held(n) });
    const { notes } = galleryNotes({ ...none, moreLikeAnother: held(2), restsOn: restsOn(2) });
    expect(notes.map((n) => [n.kind, n.person, n.other, n.file])).toEqual([['wrong-name', 'elton', 'jerry', 'jerry0.jpg'], ['wrong-name', 'elton', 'jerry', 'jerry0.jpg'], ['wrong-name', 'elton', 'jerry', 'jerry1.jpg']]);
    expect(notes[0].text).toBe('The threshold rests on j.jpg under “jerry” against “elton” (0.714), whose photos include 2 more like “jerry” than elton’s others (jerry0.jpg, jerry1.jpg): the wrong person’s photos? If so, remove them from elton’s photos.');
    expect(galleryNotes({ ...none, restsOn: restsOn(1) }).notes[0].text).toContain('whose photos include one more like “jerry” than elton’s others (jerry0.jpg): the wrong person’s photos? If so, remove it from elton’s photos.');
    expect(galleryNotes({ ...none, restsOn: restsOn(4) }).notes[0].text).toContain('(jerry0.jpg, jerry1.jpg, jerry2.jpg, …)');
    // A threshold resting on a face or on two names alike: said by their own notes (moreLikeAnother, alike), not again.
    expect(galleryNotes({ ...none, restsOn: { on: 'face', face: held(1)[0] } }).notes).toEqual([]);
  });

  it('at most `shown` of each kind, then how many more', () => {
    const faces = Array.from({ length: 7 }, (_, i) => ({ file: `${i}.jpg`, person: 'Bo', other: 'Ann', similarity: 0.9 }));
    const { notes, more } = galleryNotes({ ...none, faces, groups: [{ names: ['A', 'B'], similarity: 0.9 }] }, 5);
    expect(notes.filter((n) => n.kind === 'same-face').map((n) => n.file)).toEqual(['0.jpg', '1.jpg', '2.jpg', '3.jpg', '4.jpg']);
    expect(notes.filter((n) => n.kind === 'one-person')).toHaveLength(1);
    expect(more).toEqual(['…and 2 more faces under two names.']);
  });

  it('photos just enrolled that look like someone else', () => {
    const report: EnrollReport = { person: 'Ann', added: 3, skipped: [], lookalikes: [{ file: 'b.jpg', person: 'Bo', similarity: 0.7123, threshold: 0.6 }] };
    expect(lookalikeNotes(report)).toEqual(['b.jpg looks like “Bo” (0.712; at 1 in 1000 false accepts, faces are named from 0.600): a photo of them, or a face framed wrong? It lets strangers through more often; if so, remove it from Ann’s photos.']);
  });
});
