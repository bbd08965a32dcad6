// Flags shared by identify and verify: the threshold, given directly or chosen for a
// false-accept rate from the gallery's calibration. Checked before any work.
import { alikeBecause, type FaceMoreLikeAnother, type Gallery, type MatchOptions, type PeopleAlike, type StrangerScore, type ThresholdChoice } from '../gallery/gallery.ts';
import { numberOption } from './number-options.ts';
import { counted, facegpuCommand } from './wording.ts';

export const DEFAULT_FAR = 0.01;

export function matchOptions(opts: { far?: string; threshold?: string }): MatchOptions {
  if (opts.far !== undefined && opts.threshold !== undefined) throw new Error('give --far or --threshold, not both');
  if (opts.threshold !== undefined) {
    const threshold = numberOption('--threshold', opts.threshold);
    if (threshold < -1 || threshold > 1) throw new Error(`--threshold is a cosine similarity in [-1, 1], got ${threshold}`);
    return { threshold };
  }
  const far = opts.far === undefined ? DEFAULT_FAR : numberOption('--far', opts.far);
  if (!(far > 0 && far < 1)) throw new Error(`--far is a false-accept rate in (0, 1), e.g. 0.01, got ${far}`);
  return { far };
}

/** A similarity as the CLI prints it. */
export const fmt = (x: number, digits = 3) => x.toFixed(digits);

/**
 * With --far: say on stderr which threshold it gives and whose calibration it comes from, and
 * warn when that calibration's comparisons are too few to support it (the rule of ten), and
 * when the backbone's default sets it (a gallery of one person, or one whose own comparisons
 * are too few). `galleryGiven`: verify was given a gallery (identify always is).
 * Returns the threshold used (--threshold's, or --far's).
 */
export function tellThreshold(gallery: Gallery, kind: 'verify' | 'identify', match: MatchOptions, galleryGiven = true): number {
  if (match.far === undefined) return match.threshold!;
  const t = gallery.thresholdFor(kind, match.far);
  const whose = {
    gallery: `gallery calibration, ${t.impostorPairs} impostor comparisons`,
    default: `backbone default calibration, ${t.impostorPairs} impostor comparisons`,
    'gallery+default': `backbone default calibration as a floor under the gallery's, whose ${t.impostorPairs} impostor comparisons are too few for this rate`,
  }[t.source];
  console.error(`facegpu: --far ${match.far}: threshold ${fmt(t.threshold)} (${whose})`);
  tellNamesThatDoNotFit(gallery, kind, t);
  if (!t.supported && t.source !== 'gallery+default') {
    // The default's own comparisons: nothing enrolled would add to them.
    const remedy = t.source === 'default' ? ': the threshold rests on fewer than 10 of them; choose a larger --far, or give --threshold' : '; enroll more people or photos';
    console.error(`facegpu: warning: ${t.impostorPairs} impostor comparisons are too few to support a false-accept rate of ${match.far} (needs ${Math.ceil(10 / match.far)})${remedy}`);
  }
  // The default is measured on other people's photos: on people outside its set it let up to
  // three times the rate asked through (scripts/calibration-held-out.ts), and it is set mostly
  // by studio portraits, which makes it strict on web photos.
  if (t.source !== 'gallery') {
    const one = gallery.people().length < 2;
    const remedy =
      kind === 'verify' && !galleryGiven
        ? 'for a rate to rely on, give --gallery <dir> of people photographed like yours'
        : one
          ? `enroll more people${kind === 'verify' ? ` in ${gallery.name}` : ''} for a calibration of your own`
          : `enroll more people or photos${kind === 'verify' ? ` in ${gallery.name}` : ''} for a calibration of your own`;
    console.error(
      `facegpu: warning: this threshold comes from the backbone's reference photos, not yours; with people it had not seen it let up to three times the rate asked through, and on web photos it names fewer of your people (calibration/README.md); ${remedy}`,
    );
  }
  return t.threshold;
}

/**
 * Where names do not fit the faces, say so with what mends it: one person under several
 * names is calibrated as one, a copy or a photo under the wrong name left out
 * (Gallery.calibration), and a small gallery's own threshold may rest on a face more like
 * another person than its own.
 */
function tellNamesThatDoNotFit(gallery: Gallery, kind: 'verify' | 'identify', t: ThresholdChoice): void {
  const groups = t.source === 'default' ? [] : gallery.peopleGroupsNamedTwice();
  for (const g of groups.slice(0, 3)) {
    const [into, ...rest] = g.names;
    console.error(
      `facegpu: warning: ${g.names.map((n) => JSON.stringify(n)).join(', ')} in ${gallery.name} look like one person (templates up to ${fmt(g.similarity)}, as alike as one person's faces): calibrated as one${kind === 'identify' ? ', and their faces named as any of them' : ''}. ` +
        `If they are one, merge them with ${rest.map((n) => facegpuCommand('gallery rename', [gallery.name, n, into])).join(' && ')}`,
    );
  }
  if (groups.length > 3) console.error(`facegpu: warning: and ${groups.length - 3} more groups of names that look like one person (gallery stats lists them)`);
  if (t.namedTwice) {
    const twice = gallery.facesNamedTwice();
    const first = twice[0];
    const like = (f: (typeof twice)[number]) => `${f.file} under "${f.person}" scores ${fmt(f.similarity)} to ${f.otherFile ? `${f.otherFile} under ` : ''}"${f.other}"`;
    // One command for each face shown, joined so that one paste removes them all.
    const shown = twice.slice(0, 3);
    const removal = shown.map((f) => facegpuCommand('gallery remove', [gallery.name, f.person], ['--photo', f.file])).join(' && ');
    const which = first
      ? `: ${shown.map(like).join('; ')}${twice.length > 3 ? `; and ${twice.length - 3} more (gallery stats)` : ''}. ` +
        (shown.length === 1 ? `If that face is not ${first.person}'s, remove it with ${removal}` : `If those faces are not their people's, remove them with ${removal}`)
      : '';
    console.error(
      `facegpu: warning: ${counted(t.namedTwice, 'face')} in ${gallery.name} ${t.namedTwice === 1 ? 'scores' : 'score'} as another person's own (${fmt(gallery.namedTwiceFrom()!)} or more: the same face under two names?), left out of the calibration${which}`,
    );
  }
  if (kind === 'identify') tellWhereThresholdRests(gallery, t);
}

/**
 * A threshold of the gallery's own above the default's floor rests on its highest few
 * impostor scores: say whose, where that is a name that does not fit (Gallery.thresholdRestsOn).
 */
function tellWhereThresholdRests(gallery: Gallery, t: ThresholdChoice): void {
  const r = gallery.thresholdRestsOn(t);
  if (r?.on === 'face') console.error(restsOnFace(gallery, r.face));
  // Two names alike enough to be one, whose comparisons count as strangers' (ORL s7 under two
  // names: 0.693 where it was 0.423).
  else if (r?.on === 'alike') console.error(restsOnAlike(gallery, r.alike));
  else if (r?.on === 'held') console.error(restsOnHeld(gallery, r.face, r.held));
}

/** The threshold rests on a face more like another person than its own: merge or remove. */
function restsOnFace(gallery: Gallery, f: FaceMoreLikeAnother): string {
  const remove = facegpuCommand('gallery remove', [gallery.name, f.person], ['--photo', f.file]);
  if (f.own === null) {
    // A person's only face: a photo of the other (merge the names), or a wrong photo.
    return (
      `facegpu: warning: the threshold rests on ${f.file}, ${JSON.stringify(f.person)}'s only face, which is like "${f.other}" (${fmt(f.similarity)}): a photo of them? ` +
      `If they are one person, merge them with ${facegpuCommand('gallery rename', [gallery.name, f.person, f.other])}; if it is a wrong photo, remove it with ${remove}`
    );
  }
  const unlike = `the threshold rests on ${f.file} under "${f.person}", which is more like "${f.other}" (${fmt(f.similarity)}) than like ${f.person}'s other faces (${fmt(f.own)})`;
  // The two names may be one person (web photos vary too much for their templates to reach
  // namedTwiceFrom): the merge first.
  if (f.merge) {
    return (
      `facegpu: warning: ${unlike}, and ${alikeBecause(f.merge)}: one person under two names? ` +
      `If so, merge them with ${facegpuCommand('gallery rename', [gallery.name, f.merge.from, f.merge.into])}; if it is a wrong photo, remove it with ${remove}`
    );
  }
  return `facegpu: warning: ${unlike}: a photo under the wrong name? If so, remove it with ${remove}`;
}

/** The threshold rests on two names alike enough to be one person: the merge. */
function restsOnAlike(gallery: Gallery, a: PeopleAlike): string {
  return (
    `facegpu: warning: the threshold rests on ${a.face.file} under "${a.face.person}" against "${a.names.find((n) => n !== a.face.person) ?? a.names[0]}"'s template (${fmt(a.face.similarity)}): "${a.names[0]}" and "${a.names[1]}" look alike (templates ${fmt(a.similarity)}), more than any two different people of the backbone's reference: one person under two names? ` +
    `If so, merge them with ${facegpuCommand('gallery rename', [gallery.name, a.names[1], a.names[0]])}`
  );
}

/** The threshold rests on a face against a name that holds its person's photos: their removal. */
function restsOnHeld(gallery: Gallery, top: StrangerScore, held: FaceMoreLikeAnother[]): string {
  const shown = held.slice(0, 3);
  return (
    `facegpu: warning: the threshold rests on ${top.file} under "${top.person}" against "${top.other}"'s template (${fmt(top.similarity)}), which holds ${counted(held.length, 'face')} more like "${top.person}" than like ${top.other}'s others (${shown.map((w) => `${w.file}: ${fmt(w.similarity)}`).join('; ')}${held.length > 3 ? '; …' : ''}): photos under the wrong name? ` +
    `If so, remove ${held.length === 1 ? 'it' : 'them'} with ${shown.map((w) => facegpuCommand('gallery remove', [gallery.name, w.person], ['--photo', w.file])).join(' && ')}`
  );
}
