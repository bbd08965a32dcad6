// The calibration a gallery stores (calibration.json) and the default calibration shipped for
// a backbone: the scores of each kind of comparison, kept so that any FAR asked later can be
// answered, plus a summary for people. Building, validating and writing them; platform-neutral.
//
// Kinds (see pair-scores.ts for the exact pairs):
// - 'verify':   face against face, what Gallery.verify compares;
// - 'template': a face against one person's template;
// - 'identify': a face against the best of the other people's templates (open set), what
//               Gallery.identify compares. It depends on how many people there are: a gallery
//               with its own calibration (2+ people) answers for itself; a gallery of one
//               person compares a face with one template, which is the 'template' kind.
import { eer, sampleScores, SAMPLE_CAP, supported, tarAtFar, type ScoreSample } from './calibration.ts';
import { facePairScores, templatePairScores } from './pair-scores.ts';
import { checkNormalisation, type NormalisationRecord } from './normalise.ts';

export const CALIBRATION_KINDS = ['verify', 'template', 'identify'] as const;
export type CalibrationKind = (typeof CALIBRATION_KINDS)[number];

export interface KindCalibration {
  genuine: ScoreSample;
  impostor: ScoreSample;
}

export interface KindSummary {
  tarAtFar1e2: number | null;
  tarAtFar1e3: number | null;
  thresholdAtFar1e2: number | null;
  thresholdAtFar1e3: number | null;
  eer: number | null;
  eerThreshold: number | null;
  genuinePairs: number;
  impostorPairs: number;
  /** The rule of ten (calibration.ts `supported`): impostorPairs >= 10 / FAR. */
  supportedFar1e2: boolean;
  supportedFar1e3: boolean;
}

export interface Calibration {
  /** Counts of what was calibrated on. */
  people: number;
  faces: number;
  /** Faces used for face pairs and for template impostors (fewer than `faces` past the budget). */
  facesUsed: { verify: number; template: number };
  kinds: Record<CalibrationKind, KindCalibration>;
  summary: Record<CalibrationKind, KindSummary>;
  /** A gallery's: fingerprint of the faces it was computed on (a stale file is recomputed). */
  basis?: string;
  /**
   * A gallery's: what its calibration took as one person under two names (Gallery.
   * namedTwiceFrom, peopleNamedTwice, facesNamedTwice), by person key and face id: names and
   * files are the gallery's when asked, so a rename or a moved photo keeps the calibration.
   * Absent in files of 0.2.0 and before (a small gallery is calibrated again on opening).
   */
  namedTwice?: NamedTwiceRecord;
}

/**
 * The rule by which a gallery's calibration takes faces and people as named twice, counted up
 * when it changes: a stored calibration of another rule is made again on opening (for a
 * gallery of up to 2000 faces). 2: face pairs first, most alike first, said of the face its
 * name fits less; 3: against a person of one face, by whether the other face's name fits it
 * better than a stranger's would; 4: else the later; 5: a face against the template of a name
 * group (names of one person), said once.
 */
export const NAMED_TWICE_RULE = 5;

/** What a gallery's calibration took as named twice (Calibration.namedTwice). */
export interface NamedTwiceRecord {
  /** NAMED_TWICE_RULE when it was made (absent: 1). */
  rule?: number;
  /** The similarity from which (Gallery.namedTwiceFrom); null where nothing is taken. */
  from: number | null;
  /** People calibrated as one: their keys, and their templates' similarity. */
  people: { a: number; b: number; similarity: number }[];
  /** Faces left out (by id) with the person (key) they score as, and that person's face they copy (by id), where a face matched a face. */
  faces: { face: number; other: number; otherFace?: number; similarity: number }[];
}

export interface CalibrationOptions {
  /** Values kept per score list (default 100000: half the exact top, half quantiles). */
  cap?: number;
  /** Comparisons computed per kind before faces are subsampled (default 1000000). */
  maxPairs?: number;
  /**
   * The data set each person comes from (by person, 0..people-1): impostor comparisons only
   * within one. A reference made of several sets (studio portraits, web photos) would count
   * pairs across them, which differ in everything but the face and are easy to tell apart;
   * a stranger in someone's photos is photographed like the people they enrolled.
   */
  dataSet?: ArrayLike<number>;
}

export function summarise(k: KindCalibration): KindSummary {
  const g = k.genuine;
  const im = k.impostor;
  const at = (far: number) => (im.total ? tarAtFar(g, im, far) : null);
  const p2 = at(1e-2);
  const p3 = at(1e-3);
  const e = g.total && im.total ? eer(g, im) : null;
  return {
    tarAtFar1e2: p2 && g.total ? p2.tar : null,
    tarAtFar1e3: p3 && g.total ? p3.tar : null,
    thresholdAtFar1e2: p2?.threshold ?? null,
    thresholdAtFar1e3: p3?.threshold ?? null,
    eer: e?.eer ?? null,
    eerThreshold: e?.threshold ?? null,
    genuinePairs: g.total,
    impostorPairs: im.total,
    supportedFar1e2: supported(1e-2, im.total),
    supportedFar1e3: supported(1e-3, im.total),
  };
}

/**
 * Calibrate on normalised descriptors x [n, dim] of `people` people (person[i] in
 * 0..people-1). With fewer than two people there are no impostors: the kinds are empty.
 */
export function calibrate(x: Float32Array, person: ArrayLike<number>, people: number, dim: number, opts: CalibrationOptions = {}): Calibration {
  const cap = opts.cap ?? SAMPLE_CAP;
  const t = templatePairScores(x, person, people, dim, opts);
  const f = facePairScores(x, person, dim, opts);
  const kinds: Record<CalibrationKind, KindCalibration> = {
    verify: { genuine: sampleScores(f.genuine, { cap }), impostor: sampleScores(f.impostor, { cap }) },
    template: { genuine: sampleScores(t.genuine, { cap }), impostor: sampleScores(t.impostor, { cap }) },
    identify: { genuine: sampleScores(t.openSetGenuine, { cap, misses: t.openSetMisses }), impostor: sampleScores(t.openSetImpostor, { cap }) },
  };
  return {
    people,
    faces: x.length / dim,
    facesUsed: { verify: f.facesUsed, template: t.facesUsed },
    kinds,
    summary: { verify: summarise(kinds.verify), template: summarise(kinds.template), identify: summarise(kinds.identify) },
  };
}

/**
 * JSON text with float32 values written with 9 significant digits (enough to read back the
 * same float32) instead of a double's 17: calibration files hold up to a few 100000 scores.
 */
export function compactJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isInteger(v) && Number.isFinite(v) ? Number(v.toPrecision(9)) : v));
}

function checkSample(s: any, where: string): asserts s is ScoreSample {
  const bad = (why: string) => new Error(`${where}: ${why}`);
  if (!s || typeof s !== 'object') throw bad('missing');
  if (!Number.isInteger(s.total) || s.total < 0 || !Number.isInteger(s.misses) || s.misses < 0 || s.misses > s.total) throw bad('"total" and "misses" must be counts, misses <= total');
  for (const key of ['top', 'rest'] as const) {
    const a = s[key];
    if (!Array.isArray(a)) throw bad(`"${key}" must be an array of scores`);
    for (let i = 0; i < a.length; i++) {
      if (typeof a[i] !== 'number' || !(a[i] >= -1.001 && a[i] <= 1.001)) throw bad(`"${key}"[${i}] is not a similarity in [-1, 1]`);
      a[i] = Math.fround(a[i]);
      if (i && a[i] < a[i - 1]) throw bad(`"${key}" is not in ascending order`);
    }
  }
  const listed = s.total - s.misses;
  if (s.rest.length === 0 ? s.top.length !== listed : s.rest.length < 2 || s.top.length >= listed || s.rest.at(-1) > (s.top[0] ?? Infinity)) {
    throw bad(`holds ${s.top.length} + ${s.rest.length} scores, which cannot stand for ${listed}`);
  }
}

/** Check a calibration read from JSON (scores rounded back to float32 in place). */
export function validateCalibration(c: any, where: string): asserts c is Calibration {
  if (!c || typeof c !== 'object' || !c.kinds || !c.summary) throw new Error(`${where}: not a calibration (no "kinds")`);
  if (!Number.isInteger(c.people) || !Number.isInteger(c.faces)) throw new Error(`${where}: "people" and "faces" must be counts`);
  for (const kind of CALIBRATION_KINDS) {
    if (!c.kinds[kind]) throw new Error(`${where}: calibration kind "${kind}" is missing`);
    checkSample(c.kinds[kind].genuine, `${where}: ${kind}.genuine`);
    checkSample(c.kinds[kind].impostor, `${where}: ${kind}.impostor`);
    if (!c.summary[kind]) c.summary[kind] = summarise(c.kinds[kind]);
  }
  if (c.namedTwice !== undefined) checkNamedTwice(c.namedTwice, where);
}

function checkNamedTwice(t: any, where: string): asserts t is NamedTwiceRecord {
  const key = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  const score = (v: unknown) => typeof v === 'number' && v >= -1.001 && v <= 1.001;
  if (!t || typeof t !== 'object' || !(t.from === null || score(t.from))) throw new Error(`${where}: "namedTwice.from" must be a similarity or null`);
  if (t.rule !== undefined && !(Number.isInteger(t.rule) && t.rule >= 1)) throw new Error(`${where}: "namedTwice.rule" must be a whole number from 1`);
  if (!(Array.isArray(t.people) && t.people.every((p: any) => key(p?.a) && key(p?.b) && score(p?.similarity)))) {
    throw new Error(`${where}: "namedTwice.people" must be a list of {"a", "b": person keys, "similarity"}`);
  }
  if (!(Array.isArray(t.faces) && t.faces.every((f: any) => key(f?.face) && key(f?.other) && (f.otherFace === undefined || key(f.otherFace)) && score(f?.similarity)))) {
    throw new Error(`${where}: "namedTwice.faces" must be a list of {"face": a face id, "other": a person key, "otherFace"?: a face id, "similarity"}`);
  }
}

export const DEFAULT_CALIBRATION_FORMAT = 'facegpu-default-calibration';
export const DEFAULT_CALIBRATION_VERSION = 1;

/**
 * What a backbone's descriptors do on shared data, for galleries too small to calibrate
 * themselves (fewer than two people). Computed by a script with defaultCalibrationFrom and
 * shipped as JSON next to the backbone; valid only for the same backbone and normalisation.
 */
export interface DefaultCalibration extends Calibration {
  format: typeof DEFAULT_CALIBRATION_FORMAT;
  version: number;
  backbone: { id: string; sha256: string };
  normalisation: NormalisationRecord;
  dim: number;
  /** The data set it was computed on (name, version, how faces were cut). */
  source: string;
  createdAt: string;
}

export function defaultCalibrationFrom(args: {
  backbone: { id: string; sha256: string };
  normalisation: NormalisationRecord;
  source: string;
  /** Normalised descriptors [n, dim] (normalise() with the same record). */
  descriptors: Float32Array;
  person: ArrayLike<number>;
  people: number;
  dim: number;
  options?: CalibrationOptions;
}): DefaultCalibration {
  return {
    format: DEFAULT_CALIBRATION_FORMAT,
    version: DEFAULT_CALIBRATION_VERSION,
    backbone: args.backbone,
    normalisation: args.normalisation,
    dim: args.dim,
    source: args.source,
    createdAt: new Date().toISOString(),
    ...calibrate(args.descriptors, args.person, args.people, args.dim, args.options),
  };
}

export function validateDefaultCalibration(d: any, where: string): asserts d is DefaultCalibration {
  if (!d || d.format !== DEFAULT_CALIBRATION_FORMAT) throw new Error(`${where}: not a facegpu default calibration (format "${d?.format}")`);
  if (d.version !== DEFAULT_CALIBRATION_VERSION) throw new Error(`${where}: default calibration version ${d.version}, this facegpu reads ${DEFAULT_CALIBRATION_VERSION}`);
  if (!d.backbone || typeof d.backbone.id !== 'string' || typeof d.backbone.sha256 !== 'string') throw new Error(`${where}: "backbone" must give the backbone's id and sha256`);
  if (!Number.isInteger(d.dim) || d.dim <= 0) throw new Error(`${where}: "dim" must be a positive integer`);
  if (typeof d.source !== 'string') throw new Error(`${where}: "source" must name the data it was computed on`);
  checkNormalisation(d.normalisation, d.dim, where);
  validateCalibration(d, where);
  if (d.people < 2 || d.kinds.verify.impostor.total === 0) throw new Error(`${where}: a default calibration needs at least two people (has ${d.people})`);
}

/** Parse and validate a default calibration's JSON text. */
export function parseDefaultCalibration(text: string, where: string): DefaultCalibration {
  let d: unknown;
  try {
    d = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where}: default calibration is not valid JSON (${(err as Error).message})`);
  }
  validateDefaultCalibration(d, where);
  return d;
}
