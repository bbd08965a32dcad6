// Data sets on disk (Node). Two layouts, as Keras' flow_from_directory:
//   <dir>/train/<person>/* and <dir>/validation/<person>/* (or val/)  - the split is given;
//   <dir>/<person>/*                                                - split per person here.
// Classes are the sorted person folder names. Every photo file under a person's folder is a
// candidate: photos by extension (isPhotoFile, as every command walks folders), so that sidecars
// (.xmp), Thumbs.db and notes beside them are left out unread; formats are recognised by
// content when decoded, and files that fail to decode are skipped with a warning naming them.
// Ids are paths relative to <dir>, with '/'.
// Evaluation (openEvaluationSet) also reads <dir>/validation/<person>/* (or val/) without a
// train/ beside it, and any number of people from one: a model is scored on the people it knows.
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { isFolder, isPhotoFile, walkFiles } from '../fs-walk.ts';
import { META_FILE, type SplitRecord } from './model-format.ts';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { loadImageRGB } from '../image/decode.ts';
import type { ImageItem, PixelLoader } from './extract.ts';
import type { TrainingSet } from './pipeline.ts';
import { checkFraction, stratifiedSplit } from './split.ts';

export const DEFAULT_VALIDATION_SPLIT = 0.2;
const VALIDATION_DIRS = ['validation', 'val'];

export interface SplitOptions {
  validationSplit?: number;
  seed?: number;
  /** Link loops, broken links, odd folders, questionable data (default: stderr). */
  onWarning?: (message: string) => void;
}

export interface FolderLayout {
  root: string;
  /** The given train/ and validation/ folders, or null for <dir>/<person>/*. */
  trainDir: string | null;
  validationDir: string | null;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export async function detectLayout(dir: string): Promise<FolderLayout> {
  let st;
  try {
    st = await stat(dir);
  } catch {
    throw new Error(`${dir}: data folder does not exist`);
  }
  if (!st.isDirectory()) throw new Error(`${dir}: not a folder; expected <dir>/<person>/* or <dir>/train/<person>/*`);
  const trainDir = join(dir, 'train');
  if (!(await isDir(trainDir))) return { root: dir, trainDir: null, validationDir: null };
  for (const name of VALIDATION_DIRS) if (await isDir(join(dir, name))) return { root: dir, trainDir, validationDir: join(dir, name) };
  return { root: dir, trainDir, validationDir: null };
}

/** person name -> files (absolute), for the person folders of `dir`. Empty folders are an error. */
export async function listPeople(dir: string, opts: { onWarning?: (message: string) => void } = {}): Promise<Map<string, string[]>> {
  const people = new Map<string, string[]>();
  const warn = opts.onWarning ?? ((m: string) => console.error(`facegpu: warning: ${m}`));
  // A person folder may be a link to a folder elsewhere (followed as image links are); a link
  // from inside a person's folder back to the data folder (or above) is a loop, not more photos.
  const enclosing = [await realpath(dir)];
  for (let up = dirname(enclosing[0]); up !== enclosing.at(-1); up = dirname(up)) enclosing.push(up);
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
  const loose: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, e.name);
    if (!(e.isDirectory() || (e.isSymbolicLink() && (await isFolder(path))))) {
      loose.push(e.name);
      continue;
    }
    if (existsSync(join(path, META_FILE))) {
      warn(`${path}: a facegpu model folder, not a person's photos; skipped`);
      continue;
    }
    people.set(e.name, await personPhotos(path, enclosing, warn));
  }
  // Files beside the person folders are nobody's photos: said, not silently left out.
  if (loose.length) {
    warn(`${dir}: ${loose.length} ${loose.length === 1 ? 'file' : 'files'} beside the person folders ${loose.length === 1 ? 'is' : 'are'} not read (${someNames(loose)}); a person's photos go in ${join(dir, '<person>')}/`);
  }
  return people;
}

/** The first few of `names`, for a message. */
const someNames = (names: readonly string[]) => names.slice(0, 3).join(', ') + (names.length > 3 ? ', …' : '');

/** The photo files under a person's folder, sorted; a folder without any is an error. */
async function personPhotos(path: string, enclosing: readonly string[], warn: (message: string) => void): Promise<string[]> {
  const files = (await walkFiles(path, { enclosing, onWarning: warn })).sort();
  if (files.length === 0) throw new Error(`${path}: this person's folder is empty; add photos or remove the folder`);
  const photos = files.filter(isPhotoFile);
  // Only sidecars or notes: no more a person's photos than an empty folder, and named so.
  if (photos.length === 0) throw new Error(`${path}: no photos in this person's folder (only ${someNames(files.map((f) => relative(path, f)))}); add photos or remove the folder`);
  return photos;
}

/**
 * Warn about the same photo (same bytes) under two people: the head would be taught two
 * answers for one face. Only files of equal size are read and hashed.
 */
async function warnSamePhotos(people: Map<string, string[]>, opts: SplitOptions): Promise<void> {
  const warn = opts.onWarning ?? ((m: string) => console.error(`facegpu: warning: ${m}`));
  const bySize = new Map<number, { person: string; file: string }[]>();
  for (const [person, files] of people) {
    for (const file of files) {
      const size = (await stat(file).catch(() => null))?.size;
      if (size === undefined) continue;
      bySize.set(size, [...(bySize.get(size) ?? []), { person, file }]);
    }
  }
  const seen = new Map<string, { person: string; file: string }>();
  for (const group of bySize.values()) {
    if (group.length < 2 || new Set(group.map((g) => g.person)).size < 2) continue;
    for (const g of group) {
      const hash = createHash('sha256').update(await readFile(g.file).catch(() => Buffer.alloc(0))).digest('hex');
      const first = seen.get(hash);
      if (first && first.person !== g.person) warn(`the same photo is under two people: ${first.file} ("${first.person}") and ${g.file} ("${g.person}")`);
      else if (!first) seen.set(hash, g);
    }
  }
}

/** The person folders' names; training needs two people (`least` 2), scoring a model one. */
function checkPeople(people: Map<string, string[]>, dir: string, least: 1 | 2 = 2): string[] {
  const classes = [...people.keys()];
  if (classes.length === 0) throw new Error(`${dir}: no person folders; expected ${dir}/<person>/<images> or ${dir}/train/<person>/<images>`);
  if (classes.length === 1 && least === 2) throw new Error(`${dir}: only one person ("${classes[0]}"); a recognizer needs at least two people to tell apart`);
  return classes;
}

const idOf = (root: string, file: string) => relative(root, file).split(sep).join('/');

export function fileLoader(root: string, size: number): PixelLoader {
  return (id) => loadImageRGB(join(root, id), size);
}

/** The training set of a data folder: classes, train and validation images, a decoder. */
export function openTrainingSet(dir: string, size: number, opts: SplitOptions = {}): Promise<TrainingSet & { root: string }> {
  return openSet(dir, size, opts, 2);
}

/** A folder of people as training splits it: its layout, the folder the people are in, and each person's ids. */
interface PeopleFolder {
  layout: FolderLayout;
  base: string;
  people: Map<string, string[]>;
  classes: string[];
  /** person -> ids (paths relative to layout.root). */
  byClass: Map<string, string[]>;
}

async function listSplitFolder(dir: string, opts: SplitOptions, leastPeople: 1 | 2, layout: FolderLayout): Promise<PeopleFolder> {
  const base = layout.trainDir ?? layout.root;
  const people = await listPeople(base, opts);
  const classes = checkPeople(people, base, leastPeople);
  await warnSamePhotos(people, opts);
  const byClass = new Map([...people].map(([c, files]) => [c, files.map((f) => idOf(layout.root, f))]));
  return { layout, base, people, classes, byClass };
}

/** A person with one photo holds none back: said, as that person goes unvalidated. */
function warnUnsplittable(folder: PeopleFolder, fraction: number, opts: SplitOptions): void {
  const warn = opts.onWarning ?? ((m: string) => console.error(`facegpu: warning: ${m}`));
  if (fraction <= 0) return;
  for (const [c, files] of folder.people) {
    if (files.length < 2) warn(`${join(folder.base, c)}: only ${files.length} photo, so none is held back for validation (validation split ${fraction}); add photos or accept that "${c}" is not validated`);
  }
}

async function openSet(dir: string, size: number, opts: SplitOptions, leastPeople: 1 | 2): Promise<TrainingSet & { root: string }> {
  const fraction = opts.validationSplit ?? DEFAULT_VALIDATION_SPLIT;
  checkFraction(fraction);
  const layout = await detectLayout(dir);
  const load = fileLoader(layout.root, size);
  if (layout.trainDir && layout.validationDir) {
    await warnBesideLayout(layout.root, [layout.trainDir, layout.validationDir], opts);
    const people = await listPeople(layout.trainDir, opts);
    const classes = checkPeople(people, layout.trainDir, leastPeople);
    await warnSamePhotos(people, opts);
    const validation = await labelledItems(layout.validationDir, layout.root, classes, opts);
    const train = classes.flatMap((c, label) => people.get(c)!.map((f) => ({ id: idOf(layout.root, f), label })));
    return { root: layout.root, classes, train, validation, load, layout: 'train/validation', validationSplit: null };
  }
  const folder = await listSplitFolder(dir, opts, leastPeople, layout);
  warnUnsplittable(folder, fraction, opts);
  const split = stratifiedSplit(folder.byClass, fraction, opts.seed ?? 1);
  const toItems = (l: { file: string; label: number }[]) => l.map(({ file, label }) => ({ id: file, label }));
  return { root: layout.root, classes: folder.classes, train: toItems(split.train), validation: toItems(split.validation), load, layout: 'split', validationSplit: fraction };
}

/**
 * What a train/ and validation/ layout leaves unread beside its two folders (a second
 * validation folder, a person's folder put beside train/), said, as files beside person
 * folders are: it was silently left out.
 */
async function warnBesideLayout(root: string, read: readonly string[], opts: SplitOptions): Promise<void> {
  const warn = opts.onWarning ?? ((m: string) => console.error(`facegpu: warning: ${m}`));
  const others = (await readdir(root)).filter((name) => !name.startsWith('.') && !read.includes(join(root, name))).sort();
  if (!others.length) return;
  warn(`${root}: ${others.length} ${others.length === 1 ? 'entry' : 'entries'} beside ${read.map((d) => basename(d) + '/').join(' and ')} ${isAre(others.length)} not read (${someNames(others)}); a train/ and validation/ layout reads only those two`);
}

const notTrained = (path: string, person: string, classes: readonly string[]) => `${path}: "${person}" is not one of the trained classes (${classes.join(', ')})`;

/** Images of `dir`'s person folders labelled by `classes`; a person the model does not know is an error. */
async function labelledItems(dir: string, root: string, classes: readonly string[], opts: SplitOptions = {}, unknown = notTrained): Promise<ImageItem[]> {
  const people = await listPeople(dir, opts);
  const items: ImageItem[] = [];
  for (const [person, files] of people) {
    const label = classes.indexOf(person);
    if (label < 0) throw new Error(unknown(join(dir, person), person, classes));
    items.push(...files.map((f) => ({ id: idOf(root, f), label })));
  }
  return items;
}

const notEvaluable = (path: string, person: string, classes: readonly string[]) =>
  `${path}: "${person}" is not one of the people this model was trained on (${classes.join(', ')}); eval scores a model on people it knows`;

/**
 * The folder `facegpu eval` scores on when `dir` has no train/: its validation/ (or val/),
 * unless the model knows a person of that name (then `dir` is a folder of people). Other
 * folders beside it are not read, and a warning says so.
 */
async function validationWithoutTrain(dir: string, classes: readonly string[], opts: SplitOptions): Promise<string | null> {
  for (const name of VALIDATION_DIRS) {
    if (classes.includes(name) || !(await isDir(join(dir, name)))) continue;
    const warn = opts.onWarning ?? ((m: string) => console.error(`facegpu: warning: ${m}`));
    const others = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.') && !VALIDATION_DIRS.includes(e.name));
    for (const e of others) warn(`${join(dir, e.name)}: beside ${name}/ and no train/, so not evaluated; eval reads ${join(dir, name)}`);
    return join(dir, name);
  }
  return null;
}

export interface EvaluationOptions extends SplitOptions {
  /**
   * The model's split (facegpu.json `split`). When `dir` holds files of it (the folder it was
   * trained on, or a copy), the files it held back that are still there are scored, never a
   * file it was trained on, however the folder changed since: a photo deleted or added moves
   * a split made again (split.ts splits each person's files as they are now). Without it, or
   * for another folder, `dir` is split again with validationSplit and seed (default: the
   * record's). A validationSplit or seed other than the record's is refused where it would
   * score a file the model was trained on.
   */
  recorded?: SplitRecord;
}

/**
 * What `facegpu eval` scores a model on: <dir>/validation/ (or val/) when present, with or
 * without train/ beside it; else the files a train of <dir> (or <dir>/train/) held back: those
 * the model records when `dir` is the folder it was trained on, else those a split with the
 * same fraction and seed holds back. One person or more, each one the model was trained on.
 */
export async function openEvaluationSet(dir: string, size: number, classes: readonly string[], opts: EvaluationOptions = {}): Promise<{ root: string; items: ImageItem[]; load: PixelLoader; source: string }> {
  const layout = await detectLayout(dir);
  const load = fileLoader(layout.root, size);
  const validationDir = layout.validationDir ?? (layout.trainDir ? null : await validationWithoutTrain(dir, classes, opts));
  if (validationDir) {
    const items = await labelledItems(validationDir, layout.root, classes, opts, notEvaluable);
    if (items.length === 0) throw new Error(`${validationDir}: no person folders; expected ${validationDir}/<person>/<images>`);
    return { root: layout.root, items, load, source: validationDir };
  }
  const recorded = opts.recorded?.layout === 'split' && opts.recorded.validationSplit !== null && opts.recorded.seed !== null ? opts.recorded : undefined;
  const fraction = opts.validationSplit ?? recorded?.validationSplit ?? DEFAULT_VALIDATION_SPLIT;
  checkFraction(fraction);
  const seed = opts.seed ?? recorded?.seed ?? 1;
  const folder = await listSplitFolder(dir, opts, 1, layout);
  // Every person is checked, also one with no photo held back.
  for (const name of folder.classes) if (!classes.includes(name)) throw new Error(notEvaluable(join(folder.base, name), name, classes));
  // Labels follow the model's class order, not the folder's.
  const labelOf = new Map([...folder.byClass].flatMap(([c, ids]) => ids.map((id) => [id, classes.indexOf(c)] as const)));
  const itemsOf = (ids: readonly string[]) => ids.map((id) => ({ id, label: labelOf.get(id)! }));
  const result = (items: ImageItem[], f: number, s: number) => ({ root: layout.root, items, load, source: `files held back by validation split ${f}, seed ${s}` });
  if (recorded && [...recorded.train, ...recorded.validation].some((id) => labelOf.has(id))) {
    return result(recordedHeldBack(dir, folder, recorded, labelOf, { ...opts, validationSplit: fraction, seed }, itemsOf), fraction, seed);
  }
  // A model of a train/ and validation/ layout held nothing back of any one folder: its train
  // folder (or a copy) is what it learnt, and another folder is new to it whole. (A split
  // invented here had scored trained-on photos as held back, and 5 of 25 new ones.)
  const folders = opts.recorded?.layout === 'train/validation' ? opts.recorded : undefined;
  if (folders) {
    // Its files as named in the layout, and under its train/ (validation/) folder: the folder
    // given may be the layout, one of its two folders, or a copy of either. Where names are
    // in both (1.jpg in each person's folders), the folder's own name tells which it is.
    const under = (ids: readonly string[]) => new Set(ids.flatMap((id) => [id, id.slice(id.indexOf('/') + 1)]));
    const [trained, held] = [under(folders.train), under(folders.validation)];
    const ids = [...labelOf.keys()];
    const seen = ids.filter((id) => trained.has(id));
    const heldHere = ids.filter((id) => held.has(id)).length;
    const trainName = folders.train[0]?.split('/')[0];
    if (seen.length > heldHere || (seen.length && seen.length === heldHere && basename(resolve(dir)) === trainName)) {
      throw new Error(`${dir}: holds ${seen.length} of the files this model was trained on (${someNames(seen)}); it was trained on a train/ and validation/ layout: score its validation folder, or photos it never saw`);
    }
    if (opts.validationSplit === undefined && opts.seed === undefined) return { root: layout.root, items: itemsOf([...labelOf.keys()]), load, source: `all of ${dir} (none of it trained on)` };
  }
  warnUnsplittable(folder, fraction, opts);
  const items = itemsOf(stratifiedSplit(folder.byClass, fraction, seed).validation.map((f) => f.file));
  if (items.length === 0) throw new Error(`${dir}: the split holds back no images (validation split ${fraction}); nothing to evaluate`);
  return result(items, fraction, seed);
}

const isAre = (n: number) => (n === 1 ? 'is' : 'are');
const photos = (n: number) => `${n} ${n === 1 ? 'photo' : 'photos'}`;

/**
 * The files to score in the folder a model was trained on: those it held back that are still
 * there (how many are not is said), or, for another fraction or seed, the files that split
 * holds back, refused if one of them is a file the model was trained on.
 */
function recordedHeldBack(
  dir: string,
  folder: PeopleFolder,
  recorded: SplitRecord,
  labelOf: ReadonlyMap<string, number>,
  opts: SplitOptions & { validationSplit: number; seed: number },
  itemsOf: (ids: readonly string[]) => ImageItem[],
): ImageItem[] {
  const warn = opts.onWarning ?? ((m: string) => console.error(`facegpu: warning: ${m}`));
  const modelSplit = `validation split ${recorded.validationSplit}, seed ${recorded.seed}`;
  const trained = new Set(recorded.train);
  if (opts.validationSplit !== recorded.validationSplit || opts.seed !== recorded.seed) {
    // Another split of this folder mixes training files in; scored, they say nothing of new faces.
    const asked = stratifiedSplit(folder.byClass, opts.validationSplit, opts.seed).validation.map((f) => f.file);
    const seen = asked.filter((id) => trained.has(id));
    if (seen.length) {
      throw new Error(
        `${dir}: validation split ${opts.validationSplit}, seed ${opts.seed} would score ${seen.length} of the files this model was trained on (${someNames(seen)}); ` +
          `it was trained on this folder with ${modelSplit}: leave the split and seed as the model's to score the files it held back`,
      );
    }
    if (asked.length === 0) throw new Error(`${dir}: the split holds back no images (validation split ${opts.validationSplit}); nothing to evaluate`);
    warn(`${dir}: validation split ${opts.validationSplit}, seed ${opts.seed} is not the split this model was trained with (${modelSplit}); the ${photos(asked.length)} it holds back, none of them one the model was trained on, are scored`);
    return itemsOf(asked);
  }
  const heldBack = modelHeldBack(recorded, relative(folder.layout.root, folder.base));
  if (heldBack.length === 0) throw new Error(`${dir}: this model's split held back no images (${modelSplit}); nothing to evaluate`);
  const there = heldBack.filter((id) => labelOf.has(id));
  const missing = heldBack.filter((id) => !labelOf.has(id));
  if (there.length === 0) throw new Error(`${dir}: none of the ${photos(heldBack.length)} this model held back (${modelSplit}) ${isAre(heldBack.length)} there (${someNames(missing)}); nothing to evaluate`);
  if (missing.length) warn(`${dir}: ${missing.length} of the ${photos(heldBack.length)} this model held back ${isAre(missing.length)} not there (${someNames(missing)}); the other ${there.length} ${isAre(there.length)} scored`);
  const known = new Set([...recorded.train, ...heldBack, ...recorded.skipped.map((s) => s.id)]);
  const added = [...labelOf.keys()].filter((id) => !known.has(id));
  if (added.length) warn(`${dir}: ${photos(added.length)} added since this model was trained (${someNames(added)}) ${isAre(added.length)} not scored: neither trained on nor held back, ${added.length === 1 ? 'it is' : 'they are'} not in the model's split`);
  return itemsOf(there);
}

/**
 * The files a model held back, from its record: its validation files, and the unreadable ones
 * (recorded only as skipped) that training held back. Those are found by splitting the files
 * training listed again: the same names, fraction and seed give the same split (split.ts).
 * A record that does not agree with that split (another layout) gives its validation files.
 */
function modelHeldBack(recorded: SplitRecord, base: string): string[] {
  const depth = base ? base.split(sep).length : 0; // ids are <base>/<person>/...
  const byClass = new Map<string, string[]>();
  for (const id of [...recorded.train, ...recorded.validation, ...recorded.skipped.map((s) => s.id)]) {
    const person = id.split('/')[depth];
    byClass.set(person, [...(byClass.get(person) ?? []), id]);
  }
  const again = stratifiedSplit(byClass, recorded.validationSplit!, recorded.seed!).validation.map((f) => f.file);
  const trained = new Set(recorded.train);
  const held = new Set(again);
  const agrees = !again.some((id) => trained.has(id)) && recorded.validation.every((id) => held.has(id));
  return agrees ? again : recorded.validation;
}
