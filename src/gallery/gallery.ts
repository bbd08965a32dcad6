// The open-set face gallery: people enrolled from a few faces each, identified and verified by
// cosine similarity against a threshold chosen for a stated false-accept rate. Platform-
// neutral: stores (store-node.ts for a folder on disk) move GalleryFiles in and out.
//
// From raw descriptors on: every descriptor is normalised with the gallery's record, a
// person's template is the re-normalised mean of their faces, identify searches the templates
// through a vector index (candidates re-scored exactly here, so the similarities reported do
// not depend on the index), and thresholds come from the gallery's own calibration
// (re-computed lazily after every change) or, below two people, from the backbone's default
// calibration.
import { tarAt, thresholdForFar, supported } from './calibration.ts';
import { calibrate, type Calibration, type CalibrationKind, type CalibrationOptions, type DefaultCalibration, type KindCalibration, type KindSummary, NAMED_TWICE_RULE, type NamedTwiceRecord } from './calibration-record.ts';
import { flatIndexProvider } from './flat-index.ts';
import { indexFileName, GALLERY_FORMAT, GALLERY_VERSION, type BackboneRef, type Box, type FaceRecord, type GalleryJson, type JsonObject } from './gallery-format.ts';
import { describeNormalisation, normalise, sameNormalisation, type NormalisationRecord } from './normalise.ts';
import { alikeBecause, differentPeopleHighest, likenessOf, type OnePerson } from './likeness.ts';
import { dot, leaveOneOut, similarity, subsetOf, templateOf, templatesOf } from './pair-scores.ts';
import type { IndexProvider, VectorIndex } from './vector-index.ts';

export { alikeBecause, type OnePerson } from './likeness.ts';

/** One face to enroll: where it was found and its raw (not normalised) descriptor. */
export interface FaceInput {
  file: string;
  box: Box;
  score: number;
  descriptor: Float32Array;
}

/** Raw descriptors: one flat array [n, dim], or one array per face. */
export type RawDescriptors = Float32Array | Float32Array[];

export interface MatchOptions {
  /** The false-accept rate the threshold is chosen for (default 0.01). */
  far?: number;
  /** A threshold given directly (instead of far). */
  threshold?: number;
}

export interface IdentifyOptions extends MatchOptions {
  /** Candidates returned per face (default 5). */
  top?: number;
}

export interface Candidate {
  label: string;
  similarity: number;
}

export interface IdentifyResult {
  /** The best candidate when its similarity reaches the threshold, else null (a stranger). */
  label: string | null;
  /** The best candidate's similarity, even when label is null. */
  similarity: number;
  threshold: number;
  candidates: Candidate[];
}

export interface VerifyResult {
  similarity: number;
  same: boolean;
  threshold: number;
}

export interface ThresholdChoice {
  threshold: number;
  /**
   * Whose calibration set it: the gallery's own, the backbone's default (fewer than two
   * people), or the default's as a floor under the gallery's own ('gallery+default': the
   * gallery's comparisons are too few for the FAR asked, see thresholdFor).
   */
  source: 'gallery' | 'default' | 'gallery+default';
  impostorPairs: number;
  /** The rule of ten (calibration.ts). */
  supported: boolean;
  /**
   * Faces left out of the gallery's calibration because they score as another person's own
   * (facesNamedTwice: a face under two names). 0 but for the gallery's own calibration.
   */
  namedTwice: number;
}

/**
 * A face more like another person than its own person's other faces (Gallery.
 * facesMoreLikeAnother). `own`: its similarity to them (their template without it); null for
 * a person's only face, listed for its likeness to another alone.
 */
export interface FaceMoreLikeAnother {
  file: string;
  person: string;
  other: string;
  similarity: number;
  own: number | null;
  /**
   * Where the two people may be one under two names, not this a wrong photo (decided for the
   * pair, the same for each of its faces: likeness.ts says when): `from` renamed `into`
   * merges them (into the name with the most faces, the first enrolled where as many, as
   * peopleGroupsNamedTwice). Null otherwise, and without a default calibration.
   */
  merge: ({ from: string; into: string } & OnePerson) | null;
}

/** Two people who may be one under two names (Gallery.peopleAlike). */
export interface PeopleAlike {
  /** The name to merge into first (the most faces, the first enrolled where as many). */
  names: [string, string];
  /** Their templates' similarity, of the faces of each that are not more like the other. */
  similarity: number;
  /** Their most alike face, and its similarity to the other's template. */
  face: { file: string; person: string; similarity: number };
}

/** A face's best score against another person's template, as identify's calibration counts a stranger's (Gallery.strangerScores). */
export interface StrangerScore {
  file: string;
  person: string;
  other: string;
  similarity: number;
}

/**
 * What a small gallery's own identify threshold rests on, where that is a name that does not
 * fit the faces (Gallery.thresholdRestsOn): a face more like another person than its own
 * (`face`); two names alike enough to be one (`alike`); or a face of its own person against a
 * name that holds photos of that person (`held`: those photos, more like the face's person
 * than like the name's others: the tester's "elton_john" with three of Jerry Seinfeld's
 * photos, on which Jerry's own photo set the threshold at 0.714).
 */
export type ThresholdRestsOn =
  | { on: 'face'; face: FaceMoreLikeAnother }
  | { on: 'alike'; alike: PeopleAlike }
  | { on: 'held'; face: StrangerScore; held: FaceMoreLikeAnother[] };

/** A face that scores as another person's own (Gallery.facesNamedTwice). */
export interface FaceNamedTwice {
  file: string;
  person: string;
  /** The person it scores as. */
  other: string;
  /** Their face it is as similar to (a copy), where the face matched a face, not the template. */
  otherFile?: string;
  similarity: number;
}

export interface GalleryStats {
  name: string;
  people: number;
  /** Distinct photo files. */
  photos: number;
  faces: number;
  indexKind: string;
  /** Whose calibration thresholds come from: the gallery's, the backbone's default, none. */
  calibration: 'gallery' | 'default' | 'none';
  verify: KindSummary | null;
  identify: KindSummary | null;
  /**
   * The thresholds `verify` and `identify` use at FAR 1e-2 and 1e-3 (thresholdFor), by FAR:
   * not always the summaries' own (`thresholdAtFar1e2`...), which measure the gallery's
   * photos: until those comparisons support a FAR, the backbone default's is a floor
   * (source 'gallery+default'). `tar`: the share of the summary's genuine pairs reaching it
   * (null without any). Null where there is no calibration.
   */
  thresholds: Record<'verify' | 'identify', Record<'0.01' | '0.001', { threshold: number; source: ThresholdChoice['source']; tar: number | null } | null>>;
  /**
   * Names that look like one person (peopleGroupsNamedTwice: calibrated as one) and faces that
   * score as another person's (facesNamedTwice: left out of the thresholds), as the warnings
   * word them. Empty lists but for the gallery's own calibration.
   */
  namedTwice: {
    groups: { names: string[]; similarity: number }[];
    faces: FaceNamedTwice[];
    /** Faces more like another person than their own person's others (facesMoreLikeAnother), from the reference's template threshold at FAR 1e-3: warned of, kept. */
    moreLikeAnother: FaceMoreLikeAnother[];
    /** People alike enough to be one (peopleAlike) where the gallery's own identify threshold at FAR 0.01 rests on them. */
    alike: PeopleAlike[];
    /** What the gallery's own identify threshold at FAR 0.01 rests on, where that is a name that does not fit (thresholdRestsOn). */
    restsOn: ThresholdRestsOn | null;
  };
  warnings: string[];
}

export interface GalleryOptions {
  /** How the gallery is named in messages (a store uses its folder). */
  name?: string;
  /** The index to build (default: the exact FlatIndex, available everywhere). */
  index?: IndexProvider;
  /** Thresholds for galleries of fewer than two people. */
  defaultCalibration?: DefaultCalibration | null;
  calibration?: CalibrationOptions;
  /** Told when stored derived data (index, calibration) is not used and is rebuilt. */
  onNotice?: (message: string) => void;
}

export interface GalleryCreateOptions extends GalleryOptions {
  backbone: BackboneRef;
  preprocessing: JsonObject;
  normalisation: NormalisationRecord;
  dim: number;
}

/** Everything a store writes or reads. */
export interface GalleryFiles {
  json: GalleryJson;
  /** Normalised descriptors [faces, dim], row i = json.faces[i]. */
  descriptors: Float32Array;
  calibration: Calibration | null;
  index: VectorIndex | null;
}

/** Why a stored index was not used (the store found it missing, unreadable or unavailable). */
export type IndexProblem = string | null;

const FARS = [1e-2, 1e-3];

/**
 * Cosine similarity at or above which two enrolled faces are one photo: the same file given
 * again, or a copy of it. The same pixels give the same descriptor: 1 to within float
 * rounding, and between adapters 0.9999999 at the least (lavapipe against SwiftShader, 15
 * faces of 5-celebrity-faces and ORL, mean-l2 normalised, 2026-12-06). Two captures of a
 * face differ far more.
 */
export const SAME_PHOTO_SIMILARITY = 0.9999;

/**
 * How far below the same-person score namedTwiceFrom takes every different-person score of
 * the backbone's reference must lie for it to be taken: a gallery's strangers score higher
 * than the reference's when its people were photographed alike (`facegpu demo`'s gallery:
 * 0.562 against a template, the reference's highest 0.472), twice that gap. The face
 * backbone: 0.824 against a highest 0.585 (face to face).
 */
export const NAMED_TWICE_MARGIN = 0.2;

interface Person {
  key: number;
  faces: number[];
}

/**
 * The false-accept rate per template comparison that lets a share `far` of strangers through
 * a gallery of `people` (a stranger is named by the best of P independent comparisons):
 * 1 - (1 - far)^(1/P), about far / P.
 */
export function templateFar(far: number, people: number): number {
  return people <= 1 ? far : -Math.expm1(Math.log1p(-far) / people);
}

/** Names joined by pairs, where pairs chain (a-b, b-c: one group), each group of two or more. */
export function groupsOf(pairs: readonly { a: string; b: string }[]): string[][] {
  const parent = new Map<string, string>();
  const root = (n: string): string => {
    const p = parent.get(n) ?? n;
    return p === n ? n : root(p);
  };
  for (const { a, b } of pairs) {
    const [ra, rb] = [root(a), root(b)];
    if (ra !== rb) parent.set(ra, rb);
  }
  const groups = new Map<string, string[]>();
  for (const n of new Set(pairs.flatMap((p) => [p.a, p.b]))) {
    const r = root(n);
    groups.set(r, [...(groups.get(r) ?? []), n]);
  }
  return [...groups.values()];
}

/**
 * The faces more like another person than their own, whatever the similarity, and the pairs
 * of people that may be one (Gallery.moreLikeAnother). People are name groups as person keys
 * (not names: a rename keeps the calibration).
 */
interface MoreLikeAnother {
  /** The calibration they were found as: worked out again when that is replaced. */
  cal: Calibration;
  /** By row; `other`: the group they are like; `one`: whether the two may be one person (likeness.ts). */
  faces: { row: number; person: number[]; other: number[]; similarity: number; own: number | null; one: OnePerson | null }[];
  /** Every face's best score against another person's template (a stranger's score, as identify's calibration counts it), highest first. */
  stranger: { row: number; person: number[]; other: number[]; similarity: number }[];
  /** Pairs of people who may be one though no face of either is more like the other (Gallery.peopleAlike), most alike face first. */
  alike: { a: number[]; b: number[]; similarity: number; row: number; faceSimilarity: number }[];
}

/** A value as a caller gave it: a string quoted (a FAR of "0.01" is not the number 0.01). */
const shown = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/**
 * Where identify's threshold `t` can rest on a name that does not fit the faces, the score
 * from which a pair sets it (just under the threshold); else null. Only a threshold of the
 * gallery's own that its comparisons are too few to support: its highest few stranger scores
 * set it, and one face can move it.
 */
const restingFrom = (t: ThresholdChoice): number | null => (t.source === 'gallery' && !t.supported ? t.threshold - 1e-6 : null);

/** The open-set gallery core: descriptors of enrolled people, their index, and the calibration that turns a false-accept rate into a threshold. */
export class Gallery {
  name: string;
  readonly dim: number;
  readonly backbone: BackboneRef;
  readonly preprocessing: JsonObject;
  readonly normalisation: NormalisationRecord;
  readonly createdAt: string;
  private updatedAt: string;
  private x: Float32Array;
  private faceList: FaceRecord[] = [];
  private rowOf = new Map<number, number>();
  private persons = new Map<string, Person>();
  private nameOfKey = new Map<number, string>();
  private templates = new Map<string, Float32Array>();
  private nextFaceId = 0;
  private nextPersonKey = 0;
  private index: VectorIndex;
  private readonly provider: IndexProvider;
  private cal: Calibration | null = null;
  /** moreLikeAnother's, for the calibration it was worked out from. */
  private likeness: MoreLikeAnother | null = null;
  private defaultCal: DefaultCalibration | null = null;
  private readonly calibrationOptions: CalibrationOptions;

  private constructor(json: Omit<GalleryJson, 'people' | 'faces' | 'index'>, opts: GalleryOptions) {
    if (!Number.isInteger(json.dim) || json.dim <= 0) throw new Error(`gallery: dimension must be a positive integer, got ${json.dim}`);
    this.name = opts.name ?? 'gallery';
    this.dim = json.dim;
    this.backbone = { id: json.backbone.id, sha256: json.backbone.sha256 };
    this.preprocessing = json.preprocessing;
    this.normalisation = json.normalisation;
    this.createdAt = json.createdAt;
    this.updatedAt = json.updatedAt;
    this.nextFaceId = json.nextFaceId;
    this.nextPersonKey = json.nextPersonKey;
    this.x = new Float32Array(16 * this.dim);
    this.provider = opts.index ?? flatIndexProvider;
    this.index = this.provider.create(this.dim);
    this.calibrationOptions = opts.calibration ?? {};
    if (opts.defaultCalibration) this.setDefaultCalibration(opts.defaultCalibration);
  }

  /** An empty gallery for descriptors of `opts.dim` numbers. */
  static create(opts: GalleryCreateOptions): Gallery {
    const now = new Date().toISOString();
    return new Gallery(
      { format: GALLERY_FORMAT, version: GALLERY_VERSION, dim: opts.dim, backbone: opts.backbone, preprocessing: opts.preprocessing, normalisation: opts.normalisation, nextFaceId: 0, nextPersonKey: 0, createdAt: now, updatedAt: now },
      opts,
    );
  }

  /** A gallery from validated files (gallery-format.ts checks them). */
  static fromFiles(files: GalleryFiles & { indexProblem?: IndexProblem }, opts: GalleryOptions = {}): Gallery {
    const notice = opts.onNotice ?? ((m: string) => console.warn(m));
    const g = new Gallery(files.json, opts);
    g.x = files.descriptors;
    g.faceList = files.json.faces.map((f) => ({ ...f, box: [...f.box] as Box }));
    g.faceList.forEach((f, row) => g.rowOf.set(f.id, row));
    for (const p of files.json.people) {
      g.persons.set(p.name, { key: p.key, faces: [...p.faces] });
      g.nameOfKey.set(p.key, p.name);
      g.templates.set(p.name, g.templateFromRows(p.faces));
    }
    const stored = files.index;
    const fits = stored && stored.dim === g.dim && stored.size === g.persons.size && [...g.persons.values()].every((p) => stored.has(p.key));
    if (stored && fits) {
      g.index.close?.();
      g.index = stored;
    } else {
      stored?.close?.();
      const why = stored ? `its ${stored.kind} index holds ${stored.size} vectors for ${g.persons.size} people` : files.indexProblem;
      g.rebuildIndex();
      if (why) notice(`${g.name}: ${why}: rebuilt the ${g.index.kind} index from the stored descriptors`);
    }
    // Stored before faces under two names were left out (0.2.0 and before), or by another rule
    // (NAMED_TWICE_RULE): a small gallery, whose threshold one such face can set, is
    // calibrated again (milliseconds), without a word; a large one keeps it until it changes.
    const cal = files.calibration;
    const before = (cal?.namedTwice?.rule ?? (cal?.namedTwice ? 1 : 0)) !== NAMED_TWICE_RULE && g.faceList.length <= 2000;
    const calFits = cal && cal.basis === g.basis() && g.namedTwiceFits(cal);
    if (cal && calFits && !before) g.cal = cal;
    else if (cal && !calFits) notice(`${g.name}: the stored calibration does not match the faces: re-calibrated`);
    return g;
  }

  /** Whether the people and faces a calibration took as named twice are the gallery's. */
  private namedTwiceFits(c: Calibration): boolean {
    const t = c.namedTwice;
    if (!t) return true;
    const face = (id: number | undefined) => id === undefined || this.rowOf.has(id);
    const person = (key: number) => this.nameOfKey.has(key);
    return t.people.every((p) => person(p.a) && person(p.b)) && t.faces.every((f) => face(f.face) && face(f.otherFace) && person(f.other));
  }

  /** What a store writes: calibration computed now if it was out of date. */
  toFiles(): GalleryFiles {
    const people = [...this.persons].map(([name, p]) => ({ name, key: p.key, faces: [...p.faces] }));
    return {
      json: {
        format: GALLERY_FORMAT,
        version: GALLERY_VERSION,
        dim: this.dim,
        backbone: { ...this.backbone },
        preprocessing: this.preprocessing,
        normalisation: this.normalisation,
        index: { kind: this.index.kind, file: indexFileName(this.index.kind) },
        people,
        faces: this.faceList.map((f) => ({ ...f })),
        nextFaceId: this.nextFaceId,
        nextPersonKey: this.nextPersonKey,
        createdAt: this.createdAt,
        updatedAt: this.updatedAt,
      },
      descriptors: this.x.subarray(0, this.faceList.length * this.dim),
      calibration: this.calibration(),
      index: this.index,
    };
  }

  get indexKind(): string {
    return this.index.kind;
  }

  get defaultCalibration(): DefaultCalibration | null {
    return this.defaultCal;
  }

  /** Thresholds for fewer than two people; refused when made for another backbone or normalisation. */
  setDefaultCalibration(d: DefaultCalibration | null): void {
    if (d) {
      if (d.backbone.id !== this.backbone.id || d.backbone.sha256 !== this.backbone.sha256) {
        throw new Error(
          `${this.name}: the default calibration (${d.source}) is for backbone "${d.backbone.id}" (sha256 ${d.backbone.sha256.slice(0, 12)}…), ` +
            `the gallery's is "${this.backbone.id}" (sha256 ${this.backbone.sha256.slice(0, 12)}…)`,
        );
      }
      if (d.dim !== this.dim || !sameNormalisation(d.normalisation, this.normalisation)) {
        throw new Error(`${this.name}: the default calibration (${d.source}) normalises descriptors as ${describeNormalisation(d.normalisation)}, the gallery as ${describeNormalisation(this.normalisation)}`);
      }
    }
    // The gallery's calibration takes people under two names as one, by the default's limit.
    if (d !== this.defaultCal) this.cal = null;
    this.defaultCal = d;
  }

  /** Enroll faces of one person (new or known); returns the new faces' ids. */
  addFaces(person: string, faces: FaceInput[]): number[] {
    if (typeof person !== 'string' || !person.trim()) throw new Error(`${this.name}: a person needs a non-empty name`);
    if (!faces.length) throw new Error(`${this.name}: no faces given for "${person}"`);
    faces.forEach((f, i) => {
      this.checkFace(f, `face ${i} of "${person}" (${f.file})`);
    });
    const raw = new Float32Array(faces.length * this.dim);
    faces.forEach((f, i) => raw.set(f.descriptor, i * this.dim));
    const x = normalise(raw, this.dim, this.normalisation);
    this.reserve(this.faceList.length + faces.length);
    let p = this.persons.get(person);
    if (!p) {
      p = { key: this.nextPersonKey++, faces: [] };
      this.persons.set(person, p);
      this.nameOfKey.set(p.key, person);
    }
    const now = new Date().toISOString();
    const ids = faces.map((f, i) => {
      const id = this.nextFaceId++;
      const row = this.faceList.length;
      this.x.set(x.subarray(i * this.dim, (i + 1) * this.dim), row * this.dim);
      this.faceList.push({ id, person, file: f.file, box: [...f.box] as Box, score: f.score, addedAt: now });
      this.rowOf.set(id, row);
      p.faces.push(id);
      return id;
    });
    this.updateTemplate(person);
    this.changed();
    return ids;
  }

  /** Forget a person and their faces. */
  removePerson(name: string): void {
    const p = this.persons.get(name);
    if (!p) throw new Error(`${this.name}: no person "${name}" in the gallery`);
    this.dropFaces(new Set(p.faces));
  }

  /**
   * Give person `from` the name `to`. When `to` is already a person, `from`'s faces join
   * theirs (two names found to be one person) and the result is 'merged'.
   */
  renamePerson(from: string, to: string): 'renamed' | 'merged' {
    const p = this.persons.get(from);
    if (!p) throw new Error(`${this.name}: no person "${from}" in the gallery`);
    if (typeof to !== 'string' || !to.trim()) throw new Error(`${this.name}: a person needs a non-empty name`);
    if (to === from) return 'renamed';
    const into = this.persons.get(to);
    const template = this.templates.get(from)!;
    const moved = new Set(p.faces);
    for (const f of this.faceList) if (moved.has(f.id)) f.person = to;
    this.persons.delete(from);
    this.templates.delete(from);
    if (!into) {
      // The same key, faces and template under the new name: the index and the calibration's
      // pairs are unchanged.
      this.persons.set(to, p);
      this.nameOfKey.set(p.key, to);
      this.templates.set(to, template);
      this.updatedAt = new Date().toISOString();
      return 'renamed';
    }
    into.faces.push(...p.faces);
    this.index.remove(p.key);
    this.nameOfKey.delete(p.key);
    this.updateTemplate(to);
    // Pairs that were impostors are now genuine: the calibration is made again.
    this.changed();
    return 'merged';
  }

  /** Drop faces by id (unknown ids are an error); a person left without faces is removed. */
  removeFaces(ids: number[]): number {
    const unknown = ids.filter((id) => !this.rowOf.has(id));
    if (unknown.length) throw new Error(`${this.name}: no face with id ${unknown.join(', ')}`);
    return this.dropFaces(new Set(ids));
  }

  /** Drop every face cut from these photo files (a deleted photo); returns how many went. */
  removeFiles(files: string[]): number {
    const gone = new Set(files);
    return this.dropFaces(new Set(this.faceList.filter((f) => gone.has(f.file)).map((f) => f.id)));
  }

  /**
   * The faces cut from photo file `from` are now of `to` (the photo was moved or renamed);
   * returns how many. Nothing else changes: descriptors, people and calibration stay.
   */
  moveFile(from: string, to: string): number {
    return this.moveFaces(this.faceList.filter((f) => f.file === from).map((f) => f.id), to);
  }

  /**
   * Give faces a new box, score and descriptor, each keeping its id, person, file and time of
   * enrolment: the same face found again in its photo (a photo library's photo whose bytes
   * changed, searched again: src/library/gallery-link.ts). Checked as addFaces checks, before
   * anything changes. Returns the faces changed.
   */
  refreshFaces(faces: readonly { id: number; box: Box; score: number; descriptor: Float32Array }[]): number {
    faces.forEach((f) => {
      const row = this.rowOf.get(f.id);
      if (row === undefined) throw new Error(`${this.name}: no face ${f.id} to refresh`);
      const what = `face ${f.id} of "${this.faceList[row].person}" (${this.faceList[row].file})`;
      this.checkFace(f, what);
    });
    if (!faces.length) return 0;
    const people = new Set<string>();
    for (const f of faces) {
      const row = this.rowOf.get(f.id)!;
      this.x.set(normalise(f.descriptor, this.dim, this.normalisation), row * this.dim);
      const rec = this.faceList[row];
      rec.box = [...f.box] as Box;
      rec.score = f.score;
      people.add(rec.person);
    }
    for (const p of people) this.updateTemplate(p);
    this.changed();
    return faces.length;
  }

  /** These faces (ids) are now of photo file `to`; returns how many moved. */
  moveFaces(ids: readonly number[], to: string): number {
    const which = new Set(ids);
    let moved = 0;
    for (const f of this.faceList) {
      if (!which.has(f.id) || f.file === to) continue;
      f.file = to;
      moved++;
    }
    if (moved) this.updatedAt = new Date().toISOString();
    return moved;
  }

  /**
   * A person's faces cut from `photos`, and the photos none of theirs came from. `same` says
   * whether an enrolled file is a given photo (by default: the same string; the Node side also
   * matches a relative path to its resolved one).
   */
  personFacesIn(person: string, photos: readonly string[], same: (file: string, photo: string) => boolean = (a, b) => a === b): { faces: FaceRecord[]; missing: string[] } {
    const theirs = this.faceList.filter((f) => f.person === person);
    return {
      faces: theirs.filter((f) => photos.some((p) => same(f.file, p))),
      missing: photos.filter((p) => !theirs.some((f) => same(f.file, p))),
    };
  }

  /** Whether `name` is an enrolled person. */
  hasPerson(name: string): boolean {
    return this.persons.has(name);
  }

  /**
   * Throw where `name` would be a new person whose name differs from one enrolled only in
   * case ("odd batch" beside "Odd Batch"): two people the eye takes for one (the page's other
   * tab refused them, this one made two).
   */
  checkNewName(name: string): void {
    if (this.persons.has(name)) return;
    const lower = name.toLocaleLowerCase();
    const other = [...this.persons.keys()].find((n) => n.toLocaleLowerCase() === lower);
    if (other) throw new Error(`${this.name}: person "${name}": "${other}" is enrolled already, a name that differs in case only; use "${other}", or rename them first`);
  }

  /** The enrolled people with their counts of faces and photos. */
  people(): { name: string; faces: number; photos: number }[] {
    return [...this.persons].map(([name, p]) => ({ name, faces: p.faces.length, photos: new Set(p.faces.map((id) => this.faceList[this.rowOf.get(id)!].file)).size }));
  }

  /** Every enrolled face, in the order stored. */
  faces(): readonly FaceRecord[] {
    return this.faceList;
  }

  /**
   * The enrolled face that `raw` (one descriptor) is a copy of (SAME_PHOTO_SIMILARITY), or
   * null; of `among` only, if given. A linear scan of the enrolled faces: enrolment galleries
   * hold a few photos a person.
   */
  samePhotoAs(raw: Float32Array, among?: readonly FaceRecord[]): FaceRecord | null {
    const x = this.normaliseInput(raw, 'samePhotoAs');
    if (x.length !== this.dim) throw new Error(this.dimError('samePhotoAs: the descriptor (one row expected)', raw.length));
    for (const f of among ?? this.faceList) {
      const r = this.rowOf.get(f.id);
      if (r !== undefined && dot(x, 0, this.x, r * this.dim, this.dim) >= SAME_PHOTO_SIMILARITY) return this.faceList[r];
    }
    return null;
  }

  /** A person's template (unit vector), or an error for an unknown name. */
  template(name: string): Float32Array {
    const t = this.templates.get(name);
    if (!t) throw new Error(`${this.name}: no person "${name}" in the gallery`);
    return t;
  }

  /** Who each face is: the best template above the threshold, or null (a stranger). */
  identify(raw: RawDescriptors, opts: IdentifyOptions = {}): IdentifyResult[] {
    if (this.persons.size === 0) throw new Error(`gallery ${this.name} is empty: enroll people first`);
    const x = this.normaliseInput(raw, 'identify');
    const threshold = this.chooseThreshold('identify', opts);
    const top = opts.top ?? 5;
    if (!Number.isInteger(top) || top < 1) throw new Error(`${this.name}: identify: "top" must be a positive integer, got ${top}`);
    // A few more than asked, so that an approximate index rarely loses the best one.
    const k = Math.min(this.persons.size, Math.max(top, 10));
    const hits = this.index.search(x, k);
    return hits.map((h, i) => {
      const candidates = h.keys
        .map((key) => {
          const label = this.nameOfKey.get(key)!;
          return { label, similarity: similarity(x, i * this.dim, this.templates.get(label)!, 0, this.dim) };
        })
        .sort((a, b) => b.similarity - a.similarity || (a.label < b.label ? -1 : 1))
        .slice(0, top);
      const best = candidates[0];
      return { label: best.similarity >= threshold ? best.label : null, similarity: best.similarity, threshold, candidates };
    });
  }

  /** Are two faces the same person? Compared face to face, thresholded with the verify calibration. */
  verify(rawA: Float32Array, rawB: Float32Array, opts: MatchOptions = {}): VerifyResult {
    const a = this.normaliseInput([rawA], 'verify');
    const b = this.normaliseInput([rawB], 'verify');
    const threshold = this.chooseThreshold('verify', opts);
    const s = similarity(a, 0, b, 0, this.dim);
    return { similarity: s, same: s >= threshold, threshold };
  }

  /**
   * The threshold for a FAR: from the gallery's own calibration with two or more people, else
   * from the default calibration (a one-person gallery's identify compares a face with one
   * template: the default's 'template' kind), else an error.
   */
  thresholdFor(kind: 'verify' | 'identify', far: number): ThresholdChoice {
    if (typeof far !== 'number' || !(far > 0 && far <= 1)) throw new Error(`${this.name}: a FAR must be a number in (0, 1], got ${shown(far)}`);
    const { source, cal } = this.calibrationFor(kind);
    if (!cal) {
      throw new Error(
        `${this.name}: no calibration for ${kind === 'identify' ? 'an' : 'a'} ${kind} threshold at FAR ${far}: the gallery has ${this.persons.size} ${this.persons.size === 1 ? 'person' : 'people'} ` +
          `(its own calibration needs at least 2) and no default calibration for backbone "${this.backbone.id}" was given; give a threshold instead`,
      );
    }
    const own: ThresholdChoice = {
      // No impostor comparison (one person under every name): the floor below sets it.
      threshold: cal.impostor.total ? thresholdForFar(cal.impostor, far) : -1,
      source: source as 'gallery' | 'default',
      impostorPairs: cal.impostor.total,
      supported: supported(far, cal.impostor.total),
      namedTwice: source === 'gallery' ? (this.calibration().namedTwice?.faces.length ?? 0) : 0,
    };
    // A small gallery's own threshold rests on a handful of comparisons (two people: a few
    // impostor scores, so any FAR gives the same threshold: above the highest of them). Until
    // its comparisons support the FAR asked, the backbone's default is a floor: never laxer than
    // what the reference data says. For identify, a stranger meets every person's template
    // and is let through by the best of them: the floor is the default's threshold for one
    // comparison at the rate that lets a share `far` through over P of them (templateFar).
    // At the FAR itself it let 26% of ORL strangers through a 5-person gallery at 0.1. A floor
    // only: the default in place of a higher own threshold let 4 of `facegpu demo`'s 6
    // strangers through (photographed as the enrolled people were, which the gallery's own
    // comparisons knew); but then one photo enrolled under the wrong name can set a small
    // gallery's threshold so high that nobody is named (a tester: 0.997): hence the faces
    // under two names left out of the calibration (calibration()).
    if (source === 'gallery' && !own.supported && this.defaultCal) {
      const floor = kind === 'identify' ? thresholdForFar(this.defaultCal.kinds.template.impostor, templateFar(far, this.persons.size)) : thresholdForFar(this.defaultCal.kinds.verify.impostor, far);
      if (floor > own.threshold) return { ...own, threshold: floor, source: 'gallery+default' };
    }
    return own;
  }

  /**
   * The similarity from which a comparison of two people's faces is taken for one person's
   * face under two names (a copy, or a photo under the wrong name), and left out of the
   * gallery's thresholds: the score half of one person's faces reach against their own
   * template in the backbone's default calibration (face: 0.82, where no two different people
   * of its 45 reached 0.48 against a template, 0.59 face to face). Null without a default
   * calibration, or with one whose different people came within NAMED_TWICE_MARGIN of it:
   * nothing is left out. The one the gallery's calibration was made with (stored with it).
   */
  namedTwiceFrom(): number | null {
    const stored = this.persons.size >= 2 ? this.calibration().namedTwice : undefined;
    return stored ? stored.from : this.namedTwiceLimit();
  }

  /** namedTwiceFrom for the faces as they are now: what a calibration is made with. */
  private namedTwiceLimit(): number | null {
    if (!this.defaultCal) return null;
    const { template, verify } = this.defaultCal.kinds;
    // The FAR-style quantile of the genuine scores: the score that half of them reach.
    const limit = thresholdForFar(template.genuine, 0.5);
    // Only where the reference shows it: no two of its different people came within the
    // margin of it.
    const highest = Math.max(template.impostor.top.at(-1) ?? -1, verify.impostor.top.at(-1) ?? -1);
    if (limit < highest + NAMED_TWICE_MARGIN) return null;
    // Photos that make everyone alike (heavily blurred: different people's templates at
    // 0.89, their faces 0.82-0.87 to another's) reach the reference's median between
    // different people: there the gallery's own same-person median is the bar.
    const own = this.ownSamePersonMedian();
    return own === null ? limit : Math.max(limit, own);
  }

  /**
   * The median of the gallery's own same-person scores: each face against its person's
   * template without it, over the people with two faces or more; null with fewer than 5.
   */
  private ownSamePersonMedian(): number | null {
    const own = this.ownLeaveOneOut();
    const scores = this.faceList.flatMap((_, i) => own(i) ?? []).sort((a, b) => a - b);
    return scores.length >= 5 ? scores[Math.floor(scores.length / 2)] : null;
  }

  /**
   * Each face against its person's template without it (leave-one-out), by row; null for a
   * person of one face. The templates are summed once per call, for the faces as they are.
   * By the names as enrolled, every face in: not as the calibration sees them (calibrationView:
   * names of one person as one, the faces under two names left out), since this is what
   * decides those (the limit, and which face of a pair is said). facesMoreLikeAnother, which
   * must find what the thresholds rest on, takes the calibration's view.
   */
  private ownLeaveOneOut(): (row: number) => number | null {
    const n = this.faceList.length;
    const names = new Map([...this.persons.keys()].map((p, i) => [p, i]));
    const person = Int32Array.from(this.faceList, (f) => names.get(f.person)!);
    const x = this.x.subarray(0, n * this.dim);
    const t = templatesOf(x, person, names.size, this.dim);
    return (row) => leaveOneOut(x, row, t, person[row], this.dim);
  }

  /**
   * The faces the gallery's calibration leaves out as under two names (findFacesNamedTwice):
   * most similar first. Empty without a default calibration, and for a calibration stored
   * before 2026-12-07 until the gallery changes.
   */
  facesNamedTwice(): FaceNamedTwice[] {
    const faces = this.persons.size < 2 ? [] : (this.calibration().namedTwice?.faces ?? []);
    return faces.map((t) => {
      const face = this.faceOf(t.face);
      return { file: face.file, person: face.person, other: this.nameOfKey.get(t.other)!, ...(t.otherFace === undefined ? {} : { otherFile: this.faceOf(t.otherFace).file }), similarity: t.similarity };
    });
  }

  private faceOf(id: number): FaceRecord {
    return this.faceList[this.rowOf.get(id)!];
  }

  /**
   * Faces that score as another person's own, as namedTwiceFrom: against one of their faces
   * (`otherFace`: a copy of a photo under another name, which a varied template hides: 0.985
   * to the photo, 0.591 to its person's template), among the faces the calibration compares
   * face to face; then, of the faces not in such a pair, against that person's template (their
   * name group's: `group`, names calibrated as one; each face meets the templates the index
   * finds nearest: all of a small gallery's), once. Not between the names of a group. The
   * faces said and the faces they copy are left out of the calibration together (leftOutRows).
   */
  private findFacesNamedTwice(limit: number | null, group: { of: ReadonlyMap<string, number>; count: number }): NamedTwiceRecord['faces'] {
    const n = this.faceList.length;
    if (limit === null || this.persons.size < 2 || !n) return [];
    // The faces said, and the faces they copy: no longer compared.
    const rows = new Set<number>();
    const one = (a: string, b: string) => group.of.get(a) === group.of.get(b);
    const out: NamedTwiceRecord['faces'] = [];
    // Of a pair, the face said is the one its own name fits less: less like its person's other
    // faces (leave-one-out), the later where alike (faces are kept in the order enrolled).
    // Said of the earlier, a photo enrolled again as a new person of one face blamed the
    // original, its person's template being the copy alone. A person of one face has no other
    // faces to bear the name out: where the other face's name fits it better than a stranger's
    // does nine times in ten (the reference's template threshold at FAR 0.1: 0.204 for
    // `face`), the one-face person's face is said; else the later of the two.
    const own = this.ownLeaveOneOut();
    const strange = thresholdForFar(this.defaultCal!.kinds.template.impostor, 0.1);
    const saysFirst = (i: number, j: number) => {
      const [fi, fj] = [own(i), own(j)];
      if (fi !== null && fj !== null) return fi < fj;
      const known = fi ?? fj;
      if (known !== null && known >= strange) return fi === null;
      // Either may be the copy (a copy among another person's photos fits as a stranger's
      // face; so may a poor photo of its own person: a web photo with a face 27 pixels wide):
      // the later, as a photo enrolled again most often is.
      return false;
    };
    const m = Math.max(2, Math.floor((1 + Math.sqrt(1 + 8 * (this.calibrationOptions.maxPairs ?? 1_000_000))) / 2));
    const used = subsetOf(n, m, 'face');
    const pairs: [number, number, number][] = [];
    for (let a = 0; a < used.length; a++) {
      const i = used[a];
      for (let b = a + 1; b < used.length; b++) {
        const j = used[b];
        if (one(this.faceList[i].person, this.faceList[j].person)) continue;
        const s = similarity(this.x, i * this.dim, this.x, j * this.dim, this.dim);
        if (s >= limit) pairs.push([i, j, s]);
      }
    }
    // Most alike first: a copy is said against the photo it copies, not the first of its
    // person's photos it also reaches; a face said once (its comparisons are out with it).
    const said = new Set<number>();
    for (const [i, j, s] of pairs.sort((x, y) => y[2] - x[2])) {
      if (said.has(i) || said.has(j)) continue;
      const [face, copied] = saysFirst(i, j) ? [i, j] : [j, i];
      out.push({ face: this.faceList[face].id, other: this.persons.get(this.faceList[copied].person)!.key, otherFace: this.faceList[copied].id, similarity: s });
      said.add(face);
      rows.add(face);
      rows.add(copied);
    }
    // Against templates: a name group's one (names of one person are one template to the
    // calibration, a face more alike to it than to either name's: 0.809 where each name's
    // is 0.767), said once, of the name the index finds nearest. One of a single face is that
    // face: a pair, said above where the budget reached it, and here it would say the
    // original of a copy.
    const x = this.x.subarray(0, n * this.dim);
    const groupOf = Int32Array.from(this.faceList, (f) => group.of.get(f.person)!);
    const t = templatesOf(x, groupOf, group.count, this.dim);
    this.index.search(x, Math.min(this.persons.size, 3)).forEach((h, i) => {
      if (rows.has(i)) return;
      let best: { key: number; similarity: number } | null = null;
      for (const key of h.keys) {
        const q = group.of.get(this.nameOfKey.get(key)!)!;
        if (q === groupOf[i] || t.counts[q] < 2) continue;
        const s = similarity(this.x, i * this.dim, t.templates, q * this.dim, this.dim);
        if (!best || s > best.similarity) best = { key, similarity: s };
      }
      if (best && best.similarity >= limit) {
        out.push({ face: this.faceList[i].id, other: best.key, similarity: best.similarity });
        rows.add(i);
      }
    });
    return out.sort((x, y) => y.similarity - x.similarity);
  }

  /**
   * The rows a calibration leaves out for its faces under two names (findFacesNamedTwice):
   * each face said, and the face it copies where it copies one. Derived from the stored
   * records, so that a calibration read from disk leaves out what it left out when made.
   */
  private leftOutRows(faces: NamedTwiceRecord['faces']): Set<number> {
    return new Set(faces.flatMap((f) => (f.otherFace === undefined ? [f.face] : [f.face, f.otherFace])).map((id) => this.rowOf.get(id)!));
  }

  /**
   * Enrolled faces at least `from` similar to another person's template and more similar to it
   * than to their own person's other faces (their template without them): photos under the
   * wrong name, most often, and kept in the calibration (below namedTwiceFrom, mostly). As
   * the calibration sees them, so that a threshold resting on one finds it: the faces left
   * out as under two names, and the faces they copy, are neither listed (facesNamedTwice says
   * those) nor in the templates, and names calibrated as one are one template, named by its
   * name with the most faces. Most similar first. A person's only face has no others to be
   * less like: it is listed for its likeness to another (`own` null), which can set a small
   * gallery's threshold as well (a web photo of Ben Affleck enrolled alone as "ben2": 0.615).
   * People of one face are not the other person.
   */
  facesMoreLikeAnother(from: number): FaceMoreLikeAnother[] {
    if (this.persons.size < 2 || !this.faceList.length) return [];
    // A group is named by its name with the most faces, as it is named now (a rename keeps the
    // calibration, and this list with it).
    return this.moreLikeAnother()
      .faces.filter((f) => f.similarity >= from)
      .map((f) => {
        const face = this.faceList[f.row];
        const [a, b] = [this.groupName(f.person), this.groupName(f.other)];
        const [renamed, into] = this.mergesInto(a, b) ? [b, a] : [a, b];
        return { file: face.file, person: face.person, other: b, similarity: f.similarity, own: f.own, merge: f.one ? { from: renamed, into, ...f.one } : null };
      });
  }

  /**
   * Pairs of people who may be one person under two names though no face of either is more
   * like the other than like its own: a face of one reaches the other's template at `from` or
   * more, and above anything of two different people in the default calibration's reference
   * (differentPeopleHighest), and the rest of their faces are that alike too (likeness.ts,
   * `similarity`: their templates'). Their comparisons count as strangers', and can lift a
   * small gallery's threshold: ORL s7's photos 1-3 and 4-5 under two names, templates 0.667
   * (not as alike as namedTwiceFrom, which calibrates them as one), set it at 0.693 where it
   * was 0.423. `names`: the name to merge into first; `face`: the most alike face. Most alike
   * face first. Empty without a default calibration.
   */
  peopleAlike(from = -Infinity): PeopleAlike[] {
    if (this.persons.size < 2 || !this.faceList.length) return [];
    return this.moreLikeAnother()
      .alike.filter((p) => p.faceSimilarity >= from)
      .map((p) => {
        const [a, b] = [this.groupName(p.a), this.groupName(p.b)];
        const face = this.faceList[p.row];
        return { names: this.mergesInto(a, b) ? [a, b] : [b, a], similarity: p.similarity, face: { file: face.file, person: face.person, similarity: p.faceSimilarity } };
      });
  }

  /**
   * The faces whose best score against another person's template (what identify's
   * calibration counts as a stranger's score) is `from` or more, highest first, as the
   * calibration sees them: where a small gallery's threshold rests. Not always a face under
   * the wrong name: a face of its own person against a name holding that person's photos
   * (Jerry Seinfeld's own photo, 0.714 to a name with three of his photos among one of Elton
   * John's, the wrong photos themselves 0.711).
   */
  strangerScores(from: number): StrangerScore[] {
    if (this.persons.size < 2 || !this.faceList.length) return [];
    const out: StrangerScore[] = [];
    for (const f of this.moreLikeAnother().stranger) {
      if (f.similarity < from) break;
      const face = this.faceList[f.row];
      out.push({ file: face.file, person: face.person, other: this.groupName(f.other), similarity: f.similarity });
    }
    return out;
  }

  /**
   * Where identify's threshold `t` (thresholdFor) rests on a name that does not fit the faces:
   * only a threshold of the gallery's own that its comparisons are too few to support, which
   * its highest few stranger scores set (one face can move it). Else null, as where those
   * scores are of different people, as they should be. (Not the faces left out already: they
   * set nothing.) First a face more like another person than its own; else two names alike
   * enough to be one; else a face of its own person against a name holding that person's
   * photos.
   */
  thresholdRestsOn(t: ThresholdChoice): ThresholdRestsOn | null {
    const from = restingFrom(t);
    if (from === null) return null;
    const [face] = this.facesMoreLikeAnother(from);
    if (face) return { on: 'face', face };
    const [alike] = this.peopleAlike(from);
    if (alike) return { on: 'alike', alike };
    const [top] = this.strangerScores(from);
    if (!top) return null;
    // The other name's faces more like this face's person (not those of a pair that may be one
    // person: there the merge is the remedy, and the face would be listed first).
    const held = this.facesMoreLikeAnother(-Infinity).filter((w) => w.person === top.other && w.other === top.person && !w.merge);
    return held.length ? { on: 'held', face: top, held } : null;
  }

  /** A name group's name (person keys): its name with the most faces, as it is named now. */
  private groupName(keys: number[]): string {
    return keys.map((k) => this.nameOfKey.get(k)!).reduce((a, b) => (this.mergesInto(b, a) ? b : a));
  }

  /**
   * Whether `a` is the name to merge `b` into (peopleGroupsNamedTwice, merge advice): the one
   * with the most faces, the first enrolled where as many.
   */
  private mergesInto(a: string, b: string): boolean {
    const [p, q] = [this.persons.get(a)!, this.persons.get(b)!];
    return p.faces.length > q.faces.length || (p.faces.length === q.faces.length && p.key < q.key);
  }

  /**
   * Every face for facesMoreLikeAnother whatever the similarity asked, most similar first:
   * worked out once per calibration, not per call (stats, identify and each render of the
   * page ask; its comparisons take a second at 2000 faces of 500 people).
   */
  private moreLikeAnother(): MoreLikeAnother {
    const cal = this.calibration();
    if (this.likeness?.cal === cal) return this.likeness;
    const groups = this.nameGroups(this.pairsNamedTwice());
    const view = this.calibrationView(groups, this.leftOutRows(cal.namedTwice?.faces ?? []));
    const t = templatesOf(view.x, view.group, groups.count, this.dim);
    const members = groups.names.map((g) => g.map((n) => this.persons.get(n)!.key));
    const G = groups.count;
    // Every other template where that is cheap (a small gallery, whose threshold one face can
    // set: as the calibration compares), else those the index finds nearest.
    const all = view.rows.length * G <= 1_000_000;
    const nearest = all ? [] : this.index.search(view.x, Math.min(this.persons.size, 3)).map((h) => h.keys.map((k) => groups.of.get(this.nameOfKey.get(k)!)!));
    const everyone = Array.from({ length: G }, (_, q) => q);
    const apart = this.defaultCal ? differentPeopleHighest(this.defaultCal) : Infinity;
    const l = likenessOf({ x: view.x, group: view.group, t, dim: this.dim, others: (k) => (all ? everyone : nearest[k]), apart });
    const face = (f: { k: number; q: number }) => ({ row: view.rows[f.k], person: members[view.group[f.k]], other: members[f.q] });
    const faces = l.faces.map((f) => ({ ...face(f), similarity: f.similarity, own: f.own, one: f.one }));
    const alike = l.alike.map((f) => ({ a: members[view.group[f.k]], b: members[f.q], similarity: f.similarity, row: view.rows[f.k], faceSimilarity: f.faceSimilarity }));
    const stranger = l.stranger.map((f) => ({ ...face(f), similarity: f.similarity }));
    this.likeness = { cal, faces, alike, stranger };
    return this.likeness;
  }

  /**
   * Pairs of enrolled people whose templates are as similar as namedTwiceFrom: one person
   * under two names, most likely (of ORL's 40 people, templates of photos 1-5 of different
   * people reach 0.43 at most; one person's photos 1-5 against their 6-10, 0.77 at least),
   * most similar first; with `person`, only the pairs that include them. Each template meets
   * those the index finds nearest (an exact flat index: every other, P^2 comparisons in all).
   */
  peopleNamedTwice(person?: string): { a: string; b: string; similarity: number }[] {
    return this.findPeopleNamedTwice(this.namedTwiceFrom(), person);
  }

  private findPeopleNamedTwice(limit: number | null, person?: string): { a: string; b: string; similarity: number }[] {
    if (limit === null || this.persons.size < 2) return [];
    if (person !== undefined) this.template(person); // an unknown name is an error
    const names = person === undefined ? [...this.persons.keys()] : [person];
    const queries = new Float32Array(names.length * this.dim);
    names.forEach((n, i) => queries.set(this.templates.get(n)!, i * this.dim));
    const out = new Map<string, { a: string; b: string; similarity: number }>();
    this.index.search(queries, Math.min(this.persons.size, 3)).forEach((h, i) => {
      for (const key of h.keys) {
        const other = this.nameOfKey.get(key)!;
        if (other === names[i]) continue;
        const s = similarity(queries, i * this.dim, this.templates.get(other)!, 0, this.dim);
        const [a, b] = person === undefined ? [names[i], other].sort() : [names[i], other];
        if (s >= limit) out.set(`${a}\u0000${b}`, { a, b, similarity: s });
      }
    });
    return [...out.values()].sort((x, y) => y.similarity - x.similarity);
  }

  /**
   * The people the gallery's calibration takes as one (Calibration.peopleNamedTwice, pairs
   * joined where they chain): each group's names, the one with the most faces first (the name
   * to merge the others into; the first enrolled where as many), and its most alike pair's
   * similarity.
   */
  peopleGroupsNamedTwice(): { names: string[]; similarity: number }[] {
    const pairs = this.pairsNamedTwice();
    return groupsOf(pairs)
      .map((g) => ({
        names: g.sort((a, b) => (this.mergesInto(a, b) ? -1 : 1)),
        similarity: Math.max(...pairs.filter((p) => g.includes(p.a) && g.includes(p.b)).map((p) => p.similarity)),
      }))
      .sort((x, y) => y.similarity - x.similarity);
  }

  /** The pairs of people the gallery's calibration takes as one, under their names now. */
  private pairsNamedTwice(): { a: string; b: string; similarity: number }[] {
    const pairs = this.persons.size < 2 ? [] : (this.calibration().namedTwice?.people ?? []);
    return pairs.map((p) => ({ a: this.nameOfKey.get(p.a)!, b: this.nameOfKey.get(p.b)!, similarity: p.similarity }));
  }

  /**
   * Each name's number in the calibration: names of one person (pairs, joined where they
   * chain) share one; `names`: each number's names.
   */
  private nameGroups(pairs: readonly { a: string; b: string }[]): { of: Map<string, number>; count: number; names: string[][] } {
    const of = new Map<string, number>();
    const names = groupsOf(pairs);
    names.forEach((g, i) => g.forEach((n) => of.set(n, i)));
    for (const n of this.persons.keys()) if (!of.has(n)) of.set(n, names.push([n]) - 1);
    return { of, count: names.length, names };
  }

  /** The faces a calibration rests on: every row but `left`, numbered by their name's group. */
  private calibrationView(groups: { of: ReadonlyMap<string, number> }, left: ReadonlySet<number>): { rows: number[]; x: Float32Array; group: Int32Array } {
    const rows = this.faceList.map((_, i) => i).filter((i) => !left.has(i));
    const x = new Float32Array(rows.length * this.dim);
    rows.forEach((i, k) => x.set(this.x.subarray(i * this.dim, (i + 1) * this.dim), k * this.dim));
    return { rows, x, group: Int32Array.from(rows, (i) => groups.of.get(this.faceList[i].person)!) };
  }

  /** The gallery's own calibration (computed now if out of date). */
  calibration(): Calibration {
    if (!this.cal) {
      // One person under two names (peopleNamedTwice) is calibrated as one: the comparisons of
      // their faces are theirs, not strangers'. Each name group gets one number.
      const limit = this.namedTwiceLimit();
      const pairs = this.findPeopleNamedTwice(limit);
      const groups = this.nameGroups(pairs);
      // A face under two names (a copy, a photo under the wrong name) is left out with the
      // face it copies: its comparisons are one person's, and a small gallery's threshold
      // would rest on them.
      const faces = this.findFacesNamedTwice(limit, groups);
      const view = this.calibrationView(groups, this.leftOutRows(faces));
      const keyOf = (name: string) => this.persons.get(name)!.key;
      const people = pairs.map((p) => ({ a: keyOf(p.a), b: keyOf(p.b), similarity: p.similarity }));
      this.cal = { ...calibrate(view.x, view.group, groups.count, this.dim, this.calibrationOptions), basis: this.basis(), namedTwice: { rule: NAMED_TWICE_RULE, from: limit, people, faces } };
    }
    return this.cal;
  }

  /** People, faces, TAR at FAR 1e-2 / 1e-3 and EER of the gallery's own photos, and warnings where pairs are too few. */
  stats(): GalleryStats {
    const warnings: string[] = [];
    const P = this.persons.size;
    const own = P >= 2;
    const source: GalleryStats['calibration'] = own ? 'gallery' : this.defaultCal ? 'default' : 'none';
    const summaries = { verify: this.calibrationFor('verify'), identify: this.calibrationFor('identify') };
    if (P === 0) warnings.push(`gallery ${this.name} is empty: enroll people first`);
    if (!own && this.defaultCal) warnings.push(`fewer than 2 people: thresholds come from the default calibration of backbone "${this.backbone.id}" (${this.defaultCal.source}); enroll a second person for the gallery's own`);
    if (!own && !this.defaultCal) warnings.push(`fewer than 2 people and no default calibration: identify and verify need an explicit threshold`);
    for (const kind of ['verify', 'identify'] as const) {
      const c = summaries[kind].cal;
      if (!c || !own) continue;
      for (const far of FARS) {
        if (!supported(far, c.impostor.total)) {
          warnings.push(`${kind}: ${c.impostor.total} impostor pairs do not support FAR ${far} (the rule of ten asks for at least ${Math.ceil(10 / far)}): its threshold rests on fewer than 10 impostor scores`);
        }
      }
    }
    const single = [...this.persons].filter(([, p]) => p.faces.length === 1).map(([n]) => n);
    if (single.length) warnings.push(`${single.length} ${single.length === 1 ? 'person has' : 'people have'} one face only (${single.slice(0, 5).join(', ')}${single.length > 5 ? ', …' : ''}): no genuine pair, so TAR leaves them out; enroll 2+ photos each`);
    const groups = own ? this.peopleGroupsNamedTwice() : [];
    if (groups.length) {
      const shown = groups.map((g) => `${g.names.map((n) => `"${n}"`).join(', ')} (templates ${g.similarity.toFixed(3)})`);
      warnings.push(
        `${groups.length === 1 ? `${groups[0].names.length} people look` : `${groups.length} groups of people look`} like one person (at or above ${this.namedTwiceFrom()!.toFixed(3)}: one person under several names? calibrated as one; renaming the others to the first merges them): ${shown.join('; ')}`,
      );
    }
    // Two names alike enough to be one person, where a small gallery's identify threshold
    // rests on them (below namedTwiceFrom, with no face more like the other: ORL s7 under two
    // names, the threshold 0.693 where it was 0.423). Only there: between many people, some
    // different ones reach what the reference's 45 did not.
    const tIdentify = own ? this.thresholdFor('identify', 1e-2) : null;
    const resting = tIdentify ? restingFrom(tIdentify) : null;
    const alike = resting === null ? [] : this.peopleAlike(resting);
    for (const a of alike.slice(0, 3)) {
      warnings.push(
        `"${a.names[0]}" and "${a.names[1]}" look alike (${a.face.file} under "${a.face.person}": ${a.face.similarity.toFixed(3)} to the other's template; their templates ${a.similarity.toFixed(3)}: more than any two different people of the backbone's reference), and the identify threshold at FAR 0.01 rests on them: one person under two names? renaming "${a.names[1]}" to "${a.names[0]}" merges them`,
      );
    }
    // A face of its own person against a name holding photos of that person: those photos are
    // said below among the faces more like another where they reach it; that the threshold
    // rests on them only here.
    const restsOn = tIdentify ? this.thresholdRestsOn(tIdentify) : null;
    if (restsOn?.on === 'held') {
      const { face: f, held } = restsOn;
      warnings.push(
        `the identify threshold at FAR 0.01 rests on ${f.file} under "${f.person}" against "${f.other}"'s template (${f.similarity.toFixed(3)}), which holds ${held.length} ${held.length === 1 ? 'face' : 'faces'} more like "${f.person}" than like ${f.other}'s others (${held
          .slice(0, 5)
          .map((w) => `${w.file}: ${w.similarity.toFixed(3)}`)
          .join('; ')}${held.length > 5 ? '; …' : ''}): photos under the wrong name? removing them from "${f.other}" mends it`,
      );
    }
    const twice = own ? this.facesNamedTwice() : [];
    if (twice.length) {
      const shown = twice.slice(0, 5).map((t) => `${t.file} under "${t.person}": ${t.similarity.toFixed(3)} to ${t.otherFile ? `${t.otherFile} under ` : ''}"${t.other}"`);
      warnings.push(
        `${twice.length} ${twice.length === 1 ? 'face scores' : 'faces score'} as another person's (at or above ${this.namedTwiceFrom()!.toFixed(3)}: the same face under two names?), left out of the calibration: ${shown.join('; ')}${twice.length > 5 ? '; …' : ''}`,
      );
    }
    // Below namedTwiceFrom, a face more like another person than its own: said, not left out.
    // From the reference's one-comparison threshold at FAR 0.001 where there is one: a small
    // gallery's own is above its highest impostor score, these faces' among them.
    const from = this.defaultCal ? thresholdForFar(this.defaultCal.kinds.template.impostor, 1e-3) : own ? this.thresholdFor('identify', 1e-3).threshold : 1;
    const unlike = own ? this.facesMoreLikeAnother(from) : [];
    if (unlike.length) {
      const shown = unlike.slice(0, 5).map(
        (f) =>
          `${f.file} under "${f.person}": ${f.similarity.toFixed(3)} to "${f.other}", ${f.own === null ? `${f.person}'s only face` : `${f.own.toFixed(3)} to ${f.person}'s other faces`}` +
          (f.merge ? ` (one person? ${alikeBecause(f.merge)}; renaming "${f.merge.from}" to "${f.merge.into}" merges them)` : ''),
      );
      warnings.push(
        `${unlike.length} ${unlike.length === 1 ? 'face is' : 'faces are'} more like another person than their own person's other faces (${from.toFixed(3)} or more): photos under the wrong name? ${shown.join('; ')}${unlike.length > 5 ? '; …' : ''}`,
      );
    }
    if (own) {
      const c = this.calibration();
      // (Template comparisons need two people: none where the faces are all one person's.)
      if (c.facesUsed.verify < c.faces || (c.people >= 2 && c.facesUsed.template < c.faces)) warnings.push(`calibrated on a sample of the faces (${c.facesUsed.verify} for face pairs, ${c.facesUsed.template} for template pairs, of ${c.faces}) to bound the work`);
    }
    const summaryOf = (kind: 'verify' | 'identify') => {
      const { source: s, kindName } = summaries[kind];
      if (s === 'gallery') return this.calibration().summary[kindName];
      if (s === 'default') return this.defaultCal!.summary[kindName];
      return null;
    };
    const applied = (kind: 'verify' | 'identify') => {
      const at = (far: number) => {
        const cal = summaries[kind].cal;
        if (!cal) return null;
        // (Identify's at FAR 0.01 is taken above already.)
        const { threshold, source: from } = kind === 'identify' && far === 1e-2 && tIdentify ? tIdentify : this.thresholdFor(kind, far);
        // The TAR the summary's genuine pairs reach there: what the threshold in use costs.
        return { threshold, source: from, tar: cal.genuine.total ? tarAt(cal.genuine, threshold) : null };
      };
      return { '0.01': at(1e-2), '0.001': at(1e-3) };
    };
    return {
      name: this.name,
      people: P,
      photos: new Set(this.faceList.map((f) => f.file)).size,
      faces: this.faceList.length,
      indexKind: this.index.kind,
      calibration: source,
      verify: summaryOf('verify'),
      identify: summaryOf('identify'),
      thresholds: { verify: applied('verify'), identify: applied('identify') },
      namedTwice: { groups, faces: twice, moreLikeAnother: unlike, alike, restsOn },
      warnings,
    };
  }

  // --- internals -------------------------------------------------------------------------

  private calibrationFor(kind: 'verify' | 'identify'): { source: 'gallery' | 'default' | 'none'; kindName: CalibrationKind; cal: KindCalibration | null } {
    if (this.persons.size >= 2) return { source: 'gallery', kindName: kind, cal: this.calibration().kinds[kind] };
    if (this.defaultCal) {
      const kindName: CalibrationKind = kind === 'identify' ? 'template' : 'verify';
      return { source: 'default', kindName, cal: this.defaultCal.kinds[kindName] };
    }
    return { source: 'none', kindName: kind, cal: null };
  }

  private chooseThreshold(kind: 'verify' | 'identify', opts: MatchOptions): number {
    if (opts.threshold !== undefined && opts.far !== undefined) throw new Error(`${this.name}: ${kind}: give "far" or "threshold", not both`);
    if (opts.threshold !== undefined) {
      // A similarity is a cosine: a threshold past 1 names nobody, below -1 everybody.
      if (typeof opts.threshold !== 'number' || !(opts.threshold >= -1 && opts.threshold <= 1)) throw new Error(`${this.name}: ${kind}: threshold must be a similarity from -1 to 1, got ${shown(opts.threshold)}`);
      return opts.threshold;
    }
    return this.thresholdFor(kind, opts.far ?? 0.01).threshold;
  }

  /** A face's descriptor, box and score as addFaces and refreshFaces take them, or an error naming it as `what`. */
  private checkFace(f: { descriptor: Float32Array; box: readonly number[]; score: number }, what: string): void {
    if (!(f.descriptor instanceof Float32Array) || f.descriptor.length !== this.dim) throw new Error(this.dimError(what, f.descriptor?.length));
    if (!Array.isArray(f.box) || f.box.length !== 4 || !f.box.every(Number.isFinite)) throw new Error(`${this.name}: ${what} needs a box [x, y, width, height]`);
    if (!Number.isFinite(f.score)) throw new Error(`${this.name}: ${what} needs a numeric score`);
  }

  private dimError(what: string, got: number | undefined): string {
    return `${this.name}: ${what} has ${got ?? 'no'} values, but the gallery holds ${this.dim}-d descriptors of backbone "${this.backbone.id}"`;
  }

  private normaliseInput(raw: RawDescriptors, what: string): Float32Array {
    if (Array.isArray(raw)) {
      if (!raw.length) throw new Error(`${this.name}: ${what}: no descriptors given`);
      const flat = new Float32Array(raw.length * this.dim);
      raw.forEach((d, i) => {
        if (!(d instanceof Float32Array) || d.length !== this.dim) throw new Error(this.dimError(`${what}: descriptor ${i}`, d?.length));
        flat.set(d, i * this.dim);
      });
      return normalise(flat, this.dim, this.normalisation);
    }
    if (!(raw instanceof Float32Array) || raw.length === 0 || raw.length % this.dim !== 0) {
      throw new Error(this.dimError(`${what}: the descriptors (a whole number of rows expected)`, raw?.length));
    }
    return normalise(raw, this.dim, this.normalisation);
  }

  private reserve(faces: number): void {
    if (faces * this.dim <= this.x.length) return;
    const grown = new Float32Array(Math.max(faces * this.dim, this.x.length * 2));
    grown.set(this.x.subarray(0, this.faceList.length * this.dim));
    this.x = grown;
  }

  private templateFromRows(ids: number[]): Float32Array {
    const rows = new Float32Array(ids.length * this.dim);
    ids.forEach((id, i) => {
      const r = this.rowOf.get(id)!;
      rows.set(this.x.subarray(r * this.dim, (r + 1) * this.dim), i * this.dim);
    });
    return templateOf(rows, this.dim);
  }

  private updateTemplate(name: string): void {
    const p = this.persons.get(name)!;
    const t = this.templateFromRows(p.faces);
    this.templates.set(name, t);
    if (this.index.has(p.key)) this.index.remove(p.key);
    this.index.add([p.key], t);
  }

  private rebuildIndex(): void {
    const people = [...this.persons];
    const vectors = new Float32Array(people.length * this.dim);
    people.forEach(([name], i) => vectors.set(this.templates.get(name)!, i * this.dim));
    this.index.close?.();
    this.index = this.provider.create(this.dim);
    this.index.add(
      people.map(([, p]) => p.key),
      vectors,
    );
  }

  private dropFaces(ids: Set<number>): number {
    if (!ids.size) return 0;
    const affected = new Set<string>();
    const kept: FaceRecord[] = [];
    const x = new Float32Array(Math.max(16, this.faceList.length - ids.size) * this.dim);
    for (const f of this.faceList) {
      if (ids.has(f.id)) {
        affected.add(f.person);
        continue;
      }
      const r = this.rowOf.get(f.id)!;
      x.set(this.x.subarray(r * this.dim, (r + 1) * this.dim), kept.length * this.dim);
      kept.push(f);
    }
    this.x = x;
    this.faceList = kept;
    this.rowOf = new Map(kept.map((f, row) => [f.id, row]));
    for (const name of affected) {
      const p = this.persons.get(name)!;
      p.faces = p.faces.filter((id) => !ids.has(id));
      if (p.faces.length) {
        this.updateTemplate(name);
      } else {
        this.index.remove(p.key);
        this.persons.delete(name);
        this.nameOfKey.delete(p.key);
        this.templates.delete(name);
      }
    }
    this.changed();
    return ids.size;
  }

  private changed(): void {
    this.cal = null;
    this.updatedAt = new Date().toISOString();
  }

  /** A fingerprint of what the calibration depends on: the faces, in order, and their people. */
  private basis(): string {
    let h = 0x811c9dc5;
    const mix = (v: number) => {
      h = Math.imul(h ^ (v & 0xffff), 0x01000193) >>> 0;
      h = Math.imul(h ^ (v >>> 16), 0x01000193) >>> 0;
    };
    mix(this.dim);
    for (const f of this.faceList) {
      mix(f.id);
      mix(this.persons.get(f.person)!.key);
    }
    return `${this.faceList.length}:${h.toString(16)}`;
  }
}

/** Refuse a gallery made with another backbone: its descriptors mean nothing to this one. */
export function assertBackbone(gallery: Pick<Gallery, 'name' | 'backbone'>, backbone: BackboneRef): void {
  const b = gallery.backbone;
  if (b.id !== backbone.id || b.sha256 !== backbone.sha256) {
    throw new Error(
      `${gallery.name}: this gallery was enrolled with backbone "${b.id}" (weights sha256 ${b.sha256.slice(0, 12)}…), ` +
        `but the backbone in use is "${backbone.id}" (sha256 ${backbone.sha256.slice(0, 12)}…); use that backbone, or enroll again`,
    );
  }
}
