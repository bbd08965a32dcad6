// Open-set identity on photos: the gallery (src/gallery: descriptors, templates, index,
// calibration) joined to the face pipeline (src/faces: every face found, framed and
// embedded). This is the Gallery API of both entries, Node (node.ts: files, folders on
// disk) and the page (src/browser: canvases, IndexedDB); decoding and storage are theirs.
// Platform-neutral.
import type { FaceDescriber, DescribedFace } from '../faces/describe.ts';
import { describeFailure, largestFace } from '../faces/describe.ts';
import { checkPreprocessing, type FacePreprocessing } from '../faces/framing.ts';
import type { RgbImage } from '../image/rgb.ts';
import type { MobileNetEngine } from '../mobilenet/engine.ts';
import type { DefaultCalibration } from '../gallery/calibration-record.ts';
import { assertBackbone, Gallery, type Candidate, type GalleryOptions, type IdentifyOptions, type MatchOptions, type OnePerson } from '../gallery/gallery.ts';
import type { BackboneRef, Box } from '../gallery/gallery-format.ts';
import type { NormalisationRecord } from '../gallery/normalise.ts';
import { similarity } from '../gallery/pair-scores.ts';
import { RemedyError } from '../remedy.ts';

/** A decoded photo and the name it is reported under (a file path, an upload's name). */
export interface NamedImage {
  name: string;
  image: RgbImage;
}

export interface IdentifiedFace {
  box: Box;
  score: number;
  /** The person, or null: nobody enrolled reaches the threshold. */
  label: string | null;
  /** The best candidate's similarity, also when label is null. */
  similarity: number;
  candidates: Candidate[];
}

export interface EnrollReport {
  person: string;
  /** Faces added. */
  added: number;
  /**
   * Photos not used, each with why (no face, several faces, the same photo as one enrolled);
   * `unreadable` marks a file that could not be read or decoded (or its faces found: an error
   * no check foresaw, FaceDescriber.describeEach), `faces` the number found in
   * a photo skipped for having several, `missedBelow` the width under which a photo without a
   * face had its faces not looked for (noFaceError; a front end words its own remedy from both),
   * `copyOf` the enrolled photo this one is a copy of (the same file again, most often: a
   * second run over the same folder).
   */
  skipped: { file: string; reason: string; unreadable?: true; faces?: number; missedBelow?: number; copyOf?: string }[];
  /**
   * Photos enrolled whose face another person's template would claim: as similar to them as
   * identify's threshold at LOOKALIKE_FAR, and more than to their own person's. A photo of that person under the wrong
   * name, or a face framed wrong, most often; it lowers every stranger's chance of staying
   * unknown, through the calibration. Present only when there are some.
   */
  lookalikes?: { file: string; person: string; similarity: number; threshold: number }[];
  /** Sources not reached because the call was stopped (EnrollOptions.signal). Present only when there are some. */
  left?: number;
  /**
   * People whose template the person's is as similar to, after this enrolment, as one
   * person's faces are to their own (Gallery.peopleNamedTwice): one person under two names,
   * most likely; or, with `one`, people the two may be one with by their faces
   * (FaceMoreLikeAnother.merge; `into`: the name to merge into). Their photos are then not
   * among `lookalikes`, but where `one.because` is `most` or `alike`. Present only when there
   * are some.
   */
  sameAs?: { person: string; similarity: number; one?: OnePerson; into?: string }[];
}

export interface EnrollOptions {
  /** Of a photo with several faces, take the largest (else the photo is skipped). */
  largest?: boolean;
  /** Find faces down to this many pixels wide in these photos (DescriberOptions.minFace), over the describer's own. */
  minFace?: number;
  /**
   * Stop after the batch under way once aborted (a Ctrl-C): the faces added so far stay (saved
   * by the caller as ever), and the report says how many sources were not reached (`left`).
   */
  signal?: AbortSignal;
}

/**
 * "<name>: no face found", for a photo in which `describer` found none; where it did not look
 * for small faces that minFace would have found (FaceDescriber.missedBelow), a RemedyError
 * that says so.
 */
export function noFaceError(name: string, describer: FaceDescriber, image: { width: number; height: number }): Error {
  const below = describer.missedBelow(image);
  const problem = `${name}: no face found`;
  return below === null ? new Error(problem) : new RemedyError(problem, smallFacesRemedy(below), { case: 'small-faces', below });
}

const smallFacesRemedy = (below: number) => ` (in a photo this big, faces under ~${below} pixels wide are looked for only with the minFace option, which is slower)`;

/** The backbone a gallery records for an engine. */
export const backboneRefOf = (engine: MobileNetEngine): BackboneRef => ({ id: engine.manifest.id, sha256: engine.manifest.weightsSha256 });

/** A gallery with its face pipeline: photos in (every face found, framed, described), people and answers out. */
export class FaceGallery {
  /** Time spent searching the gallery, ms (the rest is in describer.times). */
  searchMs = 0;
  /** The last change begun through `exclusive`. */
  private changing: Promise<unknown> = Promise.resolve();
  /** Enroll's lookalike threshold, kept between batches (LookalikeThreshold). */
  readonly lookalikeThreshold: LookalikeThreshold;

  private constructor(
    readonly gallery: Gallery,
    readonly describer: FaceDescriber,
  ) {
    this.lookalikeThreshold = new LookalikeThreshold(gallery);
  }

  /**
   * A new, empty gallery for `describer`'s engine and preprocessing. Descriptors are
   * normalised as the backbone's reference says (its mean removed) when one is given for this
   * very backbone, else by their L2 norm alone; the reference's calibration answers until the
   * gallery has two people of its own.
   */
  static create(describer: FaceDescriber, reference: DefaultCalibration | null, opts: GalleryOptions = {}): FaceGallery {
    const backbone = backboneRefOf(describer.engine);
    const ref = reference && reference.backbone.sha256 === backbone.sha256 && reference.dim === describer.engine.outputDim ? reference : null;
    const normalisation: NormalisationRecord = ref?.normalisation ?? { method: 'l2' };
    const gallery = Gallery.create({ ...opts, backbone, dim: describer.engine.outputDim, preprocessing: { ...describer.preprocessing }, normalisation, defaultCalibration: ref });
    return new FaceGallery(gallery, describer);
  }

  /**
   * Join a stored gallery to a describer: refused when the gallery was made with another
   * backbone, or frames faces otherwise than the describer (make the describer from
   * `preprocessingOf(gallery)`).
   */
  static attach(gallery: Gallery, describer: FaceDescriber): FaceGallery {
    assertBackbone(gallery, backboneRefOf(describer.engine));
    const mine = JSON.stringify(describer.preprocessing);
    if (JSON.stringify(gallery.preprocessing) !== mine) {
      throw new Error(`${gallery.name}: the gallery frames faces as ${JSON.stringify(gallery.preprocessing)}, this pipeline as ${mine}`);
    }
    return new FaceGallery(gallery, describer);
  }

  get name(): string {
    return this.gallery.name;
  }

  /**
   * Add `person`'s faces from `photos` (the person is created or extended): one face per
   * photo. A photo without a face, or with several (unless `largest`), is skipped and said so.
   * Enrolments are serialised (`exclusive`): overlapping calls run one after another, each
   * checking for photos already enrolled against what the ones before it added.
   */
  async enroll(person: string, photos: readonly NamedImage[], opts: EnrollOptions = {}): Promise<EnrollReport> {
    person = personName(person);
    return this.exclusive(async () => {
      this.gallery.checkNewName(person);
      return withSameAs(this, await enrollPhotos(this, person, photos, opts));
    });
  }

  /**
   * Run `change` once the changes begun before it through here (enrolments, a Node gallery's
   * remove and save) have finished, and hold those begun after it until it has. Not reentrant:
   * `change` must not call enroll or exclusive of this gallery and wait for it.
   */
  exclusive<T>(change: () => Promise<T> | T): Promise<T> {
    const run = this.changing.then(change, change);
    this.changing = run.catch(() => undefined);
    return run;
  }

  /** Every face of every photo, named or null (a stranger), with its best candidates. */
  async identify(photos: readonly NamedImage[], opts: IdentifyOptions = {}): Promise<{ name: string; faces: IdentifiedFace[] }[]> {
    if (!this.gallery.people().length) throw new Error(`${this.gallery.name}: the gallery is empty: enroll people first`);
    const found = await this.describer.describe(photos.map((p) => p.image));
    return this.identifyDescribed(photos.map((p) => p.name), found, opts);
  }

  /** `identify` for faces already described (the caller found and embedded them). */
  identifyDescribed(names: readonly string[], found: readonly DescribedFace[][], opts: IdentifyOptions = {}): { name: string; faces: IdentifiedFace[] }[] {
    const all = found.flat();
    const t = performance.now();
    const results = all.length ? this.gallery.identify(all.map((f) => f.descriptor), opts) : [];
    this.searchMs += performance.now() - t;
    let k = 0;
    return names.map((name, i) => ({
      name,
      faces: found[i].map((f) => {
        const r = results[k++];
        return { box: f.box, score: f.score, label: r.label, similarity: r.similarity, candidates: r.candidates };
      }),
    }));
  }

  /**
   * Are the largest faces of two photos the same person? Thresholds come from this gallery's
   * calibration (face against face), or the backbone's reference when it has too few people.
   */
  async verify(a: NamedImage, b: NamedImage, opts: MatchOptions = {}): Promise<{ similarity: number; same: boolean; threshold: number }> {
    const [fa, fb] = await this.describer.describe([a.image, b.image]);
    if (!fa.length) throw noFaceError(a.name, this.describer, a.image);
    if (!fb.length) throw noFaceError(b.name, this.describer, b.image);
    return this.gallery.verify(fa[largestFace(fa)].descriptor, fb[largestFace(fb)].descriptor, opts);
  }

  /** People, faces, and how well the gallery's own photos separate them (TAR at FAR, EER), with warnings. */
  stats(): ReturnType<Gallery['stats']> {
    return this.gallery.stats();
  }

  /** The enrolled people with their counts of faces and photos. */
  people(): ReturnType<Gallery['people']> {
    return this.gallery.people();
  }

  /** Whether `person` is enrolled (without counting everyone's faces and photos, as people() does). */
  hasPerson(person: string): boolean {
    return this.gallery.hasPerson(person);
  }

  /** A person's photos (as they were enrolled), each once, in the order enrolled. */
  photosOf(person: string): string[] {
    person = this.known(person);
    return [...new Set(this.gallery.faces().filter((f) => f.person === person).map((f) => f.file))];
  }

  /**
   * Forget a person's faces from these photos (a photo enrolled by mistake); a person left
   * without a face is forgotten. Returns the faces removed; a photo none of theirs came from
   * is an error naming it, before anything changes.
   */
  removePhotos(person: string, files: readonly string[]): number {
    person = this.known(person);
    this.mustHave(person);
    const { faces, missing } = this.gallery.personFacesIn(person, files);
    if (missing.length) throw new Error(`${this.gallery.name}: ${person} has no face from ${missing.join(', ')}`);
    return this.gallery.removeFaces(faces.map((f) => f.id));
  }

  /** Rename a person; to the name of another, the two become one ('merged'). */
  rename(person: string, to: string): 'renamed' | 'merged' {
    to = personName(to);
    person = this.known(person);
    this.mustHave(person);
    return this.gallery.renamePerson(person, to);
  }

  /** `person` as this gallery spells them (lookupName). */
  private known(person: string): string {
    return lookupName(person, (n) => this.hasPerson(n));
  }

  /** Throw, naming the gallery, unless `person` is enrolled (`remedy`: what to add to the message). */
  private mustHave(person: string, remedy = ''): void {
    if (!this.hasPerson(person)) throw new Error(`${this.gallery.name}: no person named "${person}"${remedy}`);
  }

  /** Forget a person and their faces (calibration recomputed). */
  remove(person: string): void {
    person = this.known(person);
    this.mustHave(person, ' (see gallery list)');
    this.gallery.removePerson(person);
  }
}

/** How a stored gallery frames faces (checked), to make its describer with. */
export function preprocessingOf(gallery: Gallery): FacePreprocessing {
  checkPreprocessing(gallery.preprocessing, gallery.name);
  return gallery.preprocessing as unknown as FacePreprocessing;
}

/** Person names are labels people type and folders hold: no empty names or control characters. */
export function checkPersonName(name: string): void {
  personName(name);
}

/**
 * A person's name as facegpu keeps it: checked (checkPersonName), in Unicode's composed form
 * (NFC) and without spaces around it. Folder names from a Mac come decomposed ("Jose" and a
 * combining accent) where a shell types "José" composed: both one person; " Ana " is Ana.
 */
export function personName(name: string): string {
  if (typeof name !== 'string') throw new TypeError(`person name: must be a string, got ${name === null ? 'null' : typeof name}`);
  if (!isPersonName(name)) throw new Error(`person name ${JSON.stringify(name)}: must be 1-200 printable characters`);
  return name.normalize('NFC').trim();
}

/**
 * The name to look a person up by: `name` as given if someone has it (a gallery from before
 * names were kept composed), else as facegpu keeps names (personName's form).
 */
export function lookupName(name: string, has: (name: string) => boolean): string {
  return has(name) ? name : name.normalize('NFC').trim();
}

/** Whether `name` can name a person: 1-200 printable characters, not only spaces. */
export function isPersonName(name: string): boolean {
  return !!name.trim() && !/[\u0000-\u001f\u007f]/.test(name) && name.length <= 200;
}

/** A photo decoded, or why it could not be. */
export type Decoded = NamedImage | { name: string; error: string };

/** Photos decoded at a time by the batch helpers below: bounds memory on long lists. */
export const DECODE_BATCH = 16;

/** Decodes a batch of sources (the batch starts at index `at` of the whole list). */
export type BatchDecoder<Source> = (batch: readonly Source[], at: number) => Promise<Decoded[]>;

/** FaceGallery.enroll's work (inside its `exclusive`), `person` already as kept (personName). */
async function enrollPhotos(fg: FaceGallery, person: string, photos: readonly NamedImage[], opts: EnrollOptions, addedNow: Set<string> = new Set()): Promise<EnrollReport> {
  const look = { minFace: opts.minFace };
  const found = await fg.describer.describeEach(photos.map((p) => p.image), look);
  const report: EnrollReport = { person, added: 0, skipped: [] };
  // Taken once a batch, as the gallery was before it (of a large gallery, not always anew).
  const threshold = fg.lookalikeThreshold.take();
  for (let i = 0; i < photos.length; i++) {
    const f = found[i];
    const file = photos[i].name;
    if (f instanceof Error) {
      report.skipped.push({ file, reason: describeFailure(file, f), unreadable: true });
      continue;
    }
    if (!f.length) {
      const below = fg.describer.missedBelow(photos[i].image, look);
      report.skipped.push(below === null ? { file, reason: 'no face found' } : { file, reason: `no face found${smallFacesRemedy(below)}`, missedBelow: below });
      continue;
    }
    if (f.length > 1 && !opts.largest) {
      report.skipped.push({ file, reason: `${f.length} faces found; enroll photos of one face, or take the largest with the \`largest\` option`, faces: f.length });
      continue;
    }
    const face = f[largestFace(f)];
    // One photo is one face of one person: enrolled again (a second run over the same
    // folder, a path given twice, a copy) it would count twice, and under another name it
    // would make a stranger look like a perfect match to the calibration.
    const same = fg.gallery.samePhotoAs(face.descriptor);
    if (same) {
      // The same file given twice in this call: it was enrolled a moment ago, by this call.
      const twice = same.file === file && addedNow.has(file);
      const reason = twice ? 'given twice: enrolled once' : same.person === person ? `the same photo as ${same.file}, already enrolled` : `the same photo as ${same.file}, enrolled as "${same.person}"`;
      report.skipped.push({ file, reason, copyOf: same.file });
      continue;
    }
    const like = lookalike(fg.gallery, person, face.descriptor, threshold);
    if (like) (report.lookalikes ??= []).push({ file, ...like });
    // Added one at a time, so that a copy later in the same call is found too.
    fg.gallery.addFaces(person, [{ file, box: face.box, score: face.score, descriptor: face.descriptor }]);
    addedNow.add(file);
    report.added++;
  }
  return report;
}

/**
 * The report with the people the person looks like one person with, once their faces are in
 * (EnrollReport.sameAs). Their photos' lookalike entries go: the photos are of the one person
 * both names hold, which merging the names mends, not removing the photos.
 */
function withSameAs(fg: FaceGallery, report: EnrollReport): EnrollReport {
  const g = fg.gallery;
  const same: NonNullable<EnrollReport['sameAs']> = (report.added ? g.peopleNamedTwice(report.person) : []).map(({ b, similarity }) => ({ person: b, similarity }));
  // Names the calibration does not take as one, but that may be one person all the same
  // (FaceMoreLikeAnother.merge: three web photos of Ben Affleck as "ben2", each warned of
  // as a photo to remove).
  if (report.added && g.people().length >= 2) {
    for (const f of g.facesMoreLikeAnother(-Infinity)) {
      if (!f.merge || (f.person !== report.person && f.other !== report.person)) continue;
      const other = f.person === report.person ? f.other : f.person;
      if (same.some((p) => p.person === other)) continue;
      same.push({ person: other, similarity: similarity(g.template(report.person), 0, g.template(other), 0, g.dim), one: { because: f.merge.because, similarity: f.merge.similarity }, into: f.merge.into });
    }
  }
  if (!same.length) return report;
  report.sameAs = same;
  // Their photos' lookalike entries go where every photo of one name is like the other (or
  // the templates are): then no photo is the wrong one. Where most are (`most`, `alike`),
  // some may be: they stay, beside the merge (a swap of wrong photos both ways had only the
  // merge said).
  const lookalikes = report.lookalikes?.filter((l) => !same.some((p) => p.person === l.person && (!p.one || p.one.because === 'all')));
  if (lookalikes?.length) report.lookalikes = lookalikes;
  else delete report.lookalikes;
  return report;
}

/**
 * The false-accept rate at whose identify threshold a face enrolled is said to look like
 * another person: strict, so that a new person's own face is rarely taken for someone else's
 * in a small gallery (whose thresholds are low), while a photo of someone else under the
 * wrong name (ORL: 0.6-0.8 to its person's template) still is.
 */
export const LOOKALIKE_FAR = 0.001;

/** Up to this many faces a gallery's calibration takes tens of milliseconds: taken each time. */
const LOOKALIKE_SMALL = 250;
/** Beyond it, taken again once the faces have grown by this share (or shrunk). */
const LOOKALIKE_GROWTH = 0.25;

/**
 * Identify's threshold at LOOKALIKE_FAR for one gallery, or null where there is no calibration
 * to give one. Taking it after faces were added computes the gallery's calibration anew,
 * seconds from a few thousand faces (2.4 s at 2500), and enroll takes it for each person's
 * batch: 300 people enrolled one by one spent 186 s in it (synthetic descriptors). So a large
 * gallery's is taken again only when its faces have grown by a quarter since (or shrunk): the
 * threshold moves little with a few more people, and the warning it sets needs no more.
 */
export class LookalikeThreshold {
  private taken: { faces: number; threshold: number | null } | null = null;

  constructor(private readonly gallery: Gallery) {}

  take(): number | null {
    const faces = this.gallery.faces().length;
    const t = this.taken;
    if (t && faces > LOOKALIKE_SMALL && faces >= t.faces && faces <= t.faces * (1 + LOOKALIKE_GROWTH)) return t.threshold;
    let threshold: number | null;
    try {
      threshold = this.gallery.thresholdFor('identify', LOOKALIKE_FAR).threshold;
    } catch {
      threshold = null;
    }
    this.taken = { faces, threshold };
    return threshold;
  }
}

/**
 * Another person whose template `descriptor` (a face about to be enrolled as `person`) is as
 * similar to as `threshold` (LookalikeThreshold) and, when `person` is enrolled already, more
 * similar to than to theirs; or null. (A small gallery's threshold is low: a face of its own
 * person may well reach another's template too, and is theirs all the same.)
 */
function lookalike(g: Gallery, person: string, descriptor: Float32Array, threshold: number | null): { person: string; similarity: number; threshold: number } | null {
  const people = g.people();
  if (threshold === null || !people.some((p) => p.name !== person)) return null;
  const [r] = g.identify([descriptor], { threshold, top: Math.min(people.length, 50) });
  const other = r.candidates.find((c) => c.label !== person);
  const own = r.candidates.find((c) => c.label === person);
  return other && other.similarity >= threshold && !(own && own.similarity >= other.similarity) ? { person: other.label, similarity: other.similarity, threshold } : null;
}

/**
 * Enroll sources as `person`, a batch at a time; those that cannot be decoded are skipped with
 * their error. The report names the person as kept (personName: " José" is "José"). The whole
 * call is one change of the gallery (FaceGallery.exclusive): overlapping calls (several people
 * enrolled under Promise.all) run one after another, as they would in turn.
 */
export async function enrollSources<Source>(fg: FaceGallery, person: string, sources: readonly Source[], decode: BatchDecoder<Source>, opts: EnrollOptions = {}): Promise<EnrollReport> {
  const name = personName(person);
  return fg.exclusive(async () => {
    fg.gallery.checkNewName(name);
    const report: EnrollReport = { person: name, added: 0, skipped: [] };
    const addedNow = new Set<string>();
    for (let at = 0; at < sources.length; at += DECODE_BATCH) {
      if (opts.signal?.aborted) {
        report.left = sources.length - at;
        break;
      }
      const decoded = await decode(sources.slice(at, at + DECODE_BATCH), at);
      for (const d of decoded) if ('error' in d) report.skipped.push({ file: d.name, reason: d.error, unreadable: true });
      const ok = decoded.filter((d): d is NamedImage => 'image' in d);
      if (!ok.length) continue;
      const r = await enrollPhotos(fg, name, ok, opts, addedNow);
      report.added += r.added;
      report.skipped.push(...r.skipped);
      if (r.lookalikes) (report.lookalikes ??= []).push(...r.lookalikes);
    }
    return withSameAs(fg, report);
  });
}

export type IdentifiedSource = { name: string; width: number; height: number; faces: IdentifiedFace[] } | { name: string; error: string };

/** identifySources' options beside matching's. */
export interface IdentifySourcesOptions extends IdentifyOptions {
  onProgress?: (done: number, total: number) => void;
  /** Counts the decoding, ms. */
  times?: { decodeMs: number };
  /**
   * Each photo answered, with its pixels while they are still in memory (drawing its faces on
   * it, say), awaited before the next batch is decoded.
   */
  onIdentified?: (photo: NamedImage, faces: IdentifiedFace[]) => void | Promise<void>;
  /** Stops the run before its next batch of photos: the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Every face of every source, a batch at a time; one that cannot be decoded gets `error` and
 * the others are answered.
 */
export async function identifySources<Source>(fg: FaceGallery, sources: readonly Source[], decode: BatchDecoder<Source>, opts: IdentifySourcesOptions = {}): Promise<IdentifiedSource[]> {
  if (!fg.people().length) throw new Error(`${fg.name}: the gallery is empty: enroll people first`);
  const out: IdentifiedSource[] = [];
  for (let at = 0; at < sources.length; at += DECODE_BATCH) {
    opts.signal?.throwIfAborted();
    const t = performance.now();
    const decoded = await decode(sources.slice(at, at + DECODE_BATCH), at);
    if (opts.times) opts.times.decodeMs += performance.now() - t;
    const ok = decoded.filter((d): d is NamedImage => 'image' in d);
    // A photo whose faces could not be found is answered with its error, as one not decoded.
    const found = ok.length ? await fg.describer.describeEach(ok.map((d) => d.image)) : [];
    const described = ok.map((d, i) => ({ d, f: found[i] })).filter((x): x is { d: NamedImage; f: DescribedFace[] } => !(x.f instanceof Error));
    const answers = fg.identifyDescribed(described.map((x) => x.d.name), described.map((x) => x.f), opts);
    let k = 0;
    let j = 0;
    for (const d of decoded) {
      if ('error' in d) {
        out.push(d);
        continue;
      }
      const f = found[k++];
      if (f instanceof Error) {
        out.push({ name: d.name, error: describeFailure(d.name, f) });
        continue;
      }
      const { faces } = answers[j++];
      out.push({ name: d.name, width: d.image.width, height: d.image.height, faces });
      await opts.onIdentified?.(d, faces);
    }
    opts.onProgress?.(out.length, sources.length);
  }
  return out;
}
