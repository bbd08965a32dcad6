// What the Identify tab says of names that do not fit the faces: the warnings the CLI's
// identify, enroll and `gallery stats` give (src/cli/match-options.ts, src/cli/enroll.ts), in
// the page's words, whose remedies are its own controls (a person's "Rename…", a photo's ✕ in
// their list of photos), not commands. Pure: the panel renders what these return.
import { LOOKALIKE_FAR, type EnrollReport, type GalleryStats } from '../src/browser/index.ts';

/**
 * One thing said of the gallery: `person` is the name the remedy acts on (renamed, or one of
 * whose photos is removed), `other` the person it looks like, `file` the photo, where one is.
 */
export interface GalleryNote {
  kind: 'one-person' | 'same-face' | 'wrong-name';
  person: string;
  other: string;
  file?: string;
  text: string;
}

const q = (name: string) => `“${name}”`;
const fmt = (v: number) => v.toFixed(3);

/** Each kind at most `shown` times, then one line that says how many more (of that kind). */
export function galleryNotes(named: GalleryStats['namedTwice'], shown = 5): { notes: GalleryNote[]; more: string[] } {
  const groups: GalleryNote[] = named.groups.map((g) => {
    const [into, ...others] = g.names;
    const them = others.map(q).join(', ');
    return {
      kind: 'one-person',
      person: others[0],
      other: into,
      text:
        `${them} and ${q(into)} look like one person (${fmt(g.similarity)}, as alike as one person’s photos), and are counted as one. ` +
        `If they are, rename ${others.length === 1 ? them : 'each'} to ${q(into)} to merge them.`,
    };
  });
  const alike: GalleryNote[] = named.alike.map((a) => ({
    kind: 'one-person',
    person: a.names[1],
    other: a.names[0],
    text:
      `${q(a.names[1])} and ${q(a.names[0])} look alike (${fmt(a.similarity)}), more than any two different people of the reference photos, and the threshold rests on them: one person under two names? ` +
      `If so, rename ${q(a.names[1])} to ${q(a.names[0])} to merge them.`,
  }));
  const faces: GalleryNote[] = named.faces.map((f) => ({
    kind: 'same-face',
    person: f.person,
    other: f.other,
    file: f.file,
    text:
      `${f.file} under ${q(f.person)} is ${f.otherFile ? `the face of ${f.otherFile} under ${q(f.other)}` : `${q(f.other)}’s face`} (${fmt(f.similarity)}): the same face under two names? ` +
      `It is left out of the threshold. If it is not ${f.person}, remove it from ${f.person}’s photos.`,
  }));
  const unlike: GalleryNote[] = named.moreLikeAnother.map((f) => ({
    kind: 'wrong-name',
    person: f.person,
    other: f.other,
    file: f.file,
    text:
      f.own === null
        ? `${f.file}, ${q(f.person)}’s only photo, is like ${q(f.other)} (${fmt(f.similarity)}): a photo of them? If they are one person, rename ${q(f.person)} to ${q(f.other)} to merge them; if it is a wrong photo, remove ${f.person}.`
        : f.merge
          ? `${f.file} under ${q(f.person)} is more like ${q(f.other)} (${fmt(f.similarity)}) than ${f.person}’s other photos (${fmt(f.own)}), and ${f.merge.because === 'all' ? 'all the photos of one of them are more like the other' : f.merge.because === 'most' ? 'most photos of one of them are more like the other, and some of the other’s more like it' : `the photos of each that are not are alike too (${fmt(f.merge.similarity!)})`}: one person under two names? If so, rename ${q(f.merge.from)} to ${q(f.merge.into)} to merge them; if it is the wrong person’s photo, remove it from ${f.person}’s photos.`
          : `${f.file} under ${q(f.person)} is more like ${q(f.other)} (${fmt(f.similarity)}) than ${f.person}’s other photos (${fmt(f.own)}): the wrong person’s photo? If so, remove it from ${f.person}’s photos.`,
  }));
  // A face of its own person against a name that holds photos of that person, where the
  // threshold rests on it: first among the photos more like someone else (which may list
  // those photos one by one as well).
  const r = named.restsOn;
  if (r?.on === 'held') {
    const files = r.held.slice(0, 3).map((w) => w.file);
    unlike.unshift({
      kind: 'wrong-name',
      person: r.face.other,
      other: r.face.person,
      file: r.held[0].file,
      text:
        `The threshold rests on ${r.face.file} under ${q(r.face.person)} against ${q(r.face.other)} (${fmt(r.face.similarity)}), whose photos include ${r.held.length === 1 ? 'one' : r.held.length} more like ${q(r.face.person)} than ${r.face.other}’s others (${files.join(', ')}${r.held.length > 3 ? ', …' : ''}): the wrong person’s photos? ` +
        `If so, remove ${r.held.length === 1 ? 'it' : 'them'} from ${r.face.other}’s photos.`,
    });
  }
  const notes: GalleryNote[] = [];
  const more: string[] = [];
  for (const [list, what] of [[[...groups, ...alike], 'names that look like one person'], [faces, 'faces under two names'], [unlike, 'photos more like someone else']] as const) {
    notes.push(...list.slice(0, shown));
    if (list.length > shown) more.push(`…and ${list.length - shown} more ${what}.`);
  }
  return { notes, more };
}

/** The photos just enrolled that look like someone else (EnrollReport.lookalikes), in the page's words. */
export function lookalikeNotes(report: EnrollReport): string[] {
  return (report.lookalikes ?? []).map(
    (l) => `${l.file} looks like ${q(l.person)} (${fmt(l.similarity)}; at 1 in ${Math.round(1 / LOOKALIKE_FAR)} false accepts, faces are named from ${fmt(l.threshold)}): a photo of them, or a face framed wrong? It lets strangers through more often; if so, remove it from ${report.person}’s photos.`,
  );
}
