// The photo library's names and other photo tools' names, through XMP face regions (Node):
//
// - export: each named face as an MWG face region (face-regions.ts) in the photo's XMP
//   sidecar: the one it has (photo.jpg.xmp, or Lightroom's photo.xmp), else a new
//   photo.jpg.xmp (the name digiKam, darktable and Immich use). Photos are not written, unless
//   asked (intoPhotos: for tools that read no sidecar of a JPEG); then the library records
//   each photo's new bytes, so that it is not indexed again.
// - import: the named face regions digiKam, Lightroom, Picasa, Windows or a camera put in a
//   photo (its sidecar and the photo itself) name the faces facegpu found under them, as
//   `gallery name-faces` does: a library tagged elsewhere is named without naming it again.
//
// Through ExifTool (exiftool-vendored), which keeps every other field of a sidecar (ratings,
// tags, darktable's edits) and replaces the file by renaming a finished copy. facegpu remembers
// in the library which regions it wrote (xmp_regions), so that a name changed or taken off in
// facegpu changes or leaves the sidecar (or the photo) on the next export, and an import does not read
// facegpu's own regions back as another tool's.
import { onExit } from 'signal-exit';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join, parse } from 'node:path';
import pLimit from 'p-limit';
import type { MatchOptions } from '../gallery/gallery.ts';
import { withGalleryLock } from '../gallery/store-node.ts';
import { loadStoredGallery } from '../identity/node.ts';
import { isPersonName } from '../identity/face-gallery.ts';
import { iptcRegions, matchRegions, microsoftRegions, planRegions, storedArea, storedSize, type MwgRegion, type NamedFace, type RegionArea } from './face-regions.ts';
import { nameFaces } from './people-node.ts';
import { sha256File } from './scan-node.ts';
import { LibraryStore, type FaceEntry, type StoredPhoto } from './store-node.ts';
import { coresUpTo } from '../cores-node.ts';
import { groupBy } from '../group-by.ts';
import { RemedyError } from '../remedy.ts';

export interface XmpOptions {
  /** Work out and report every change, write nothing. */
  dryRun?: boolean;
  /**
   * export: also write the faces nobody named that identify names at this false-accept rate
   * (or threshold) against the gallery, as searchLibraryForPerson finds them; nothing is named.
   */
  recognize?: MatchOptions;
  /**
   * export: write the regions into the photos themselves instead of their sidecars, for
   * tools that read no sidecar of a JPEG (Lightroom Classic). ExifTool changes only the
   * metadata and replaces each file by renaming a finished copy; the library records the
   * photo's new size, time and hash, so it is not indexed again. Regions facegpu had put in
   * the sidecar are taken out of it (and the other way round without this).
   */
  intoPhotos?: boolean;
  /**
   * Read every photo's metadata again. Otherwise export skips a photo whose regions facegpu
   * wrote there last are the faces and names the library has now, and import skips a photo
   * whose file, sidecars and faces are as they were at its last import.
   */
  recheck?: boolean;
  onNotice?: (message: string) => void;
  /** Called after each photo (done, total). */
  onProgress?: (done: number, total: number) => void;
}

export interface XmpExportReport {
  /** Photos with a named face, or with regions facegpu wrote before. */
  photos: number;
  /** Photos whose sidecar (with intoPhotos: the photo itself) was written, with dryRun would be; also where only facegpu's regions were taken out of the other place. */
  written: number;
  /** Photos not read: the regions facegpu wrote there last are the library's faces and names now (see `recheck`). */
  skipped: number;
  /** Faces named in the sidecars after the run. */
  regions: number;
  /** Of those, faces nobody named that identify names (with `recognize`). */
  recognized: number;
  /** Regions facegpu had written that were taken out (names changed or taken off). */
  dropped: number;
  /** Faces left unwritten because another tool names that face as someone else there. */
  kept: { file: string; face: number; name: string; theirs: string }[];
  /** Photos whose metadata could not be read or whose sidecar could not be written; the others are done. */
  failed: { file: string; error: string }[];
  dryRun: boolean;
}

export interface XmpImportReport {
  /** Library photos with faces. */
  photos: number;
  /** Of those, photos not read: file, sidecars and faces as at their last import (see `recheck`). */
  skipped: number;
  /** Named face regions of other tools found in them. */
  regions: number;
  /** Faces named from them, per person (with dryRun: that would be). */
  named: { person: string; faces: number }[];
  /** Regions whose face facegpu already names so. */
  already: number;
  /** Regions whose face facegpu names otherwise: left as facegpu has it. */
  kept: { file: string; face: number; name: string; theirs: string }[];
  /** Regions naming a face taken off that person in facegpu before (unname-faces): left off. */
  notThem: { file: string; face: number; name: string }[];
  /** Regions with no face of the library under them (too small or turned away for the detector, or a name facegpu refuses). */
  unmatched: { file: string; name: string }[];
  failed: { file: string; error: string }[];
  dryRun: boolean;
}

/** The sidecar facegpu makes for a photo that has none: its whole file name with `.xmp` added. */
export const sidecarOf = (photo: string) => `${photo}.xmp`;
/**
 * A photo's sidecar, the first that exists: photo.jpg.xmp, then photo.xmp (Lightroom's, and
 * exiftool's). Read, and written into: a second sidecar beside one would hide it from readers.
 */
const sidecarsOf = (photo: string) => {
  const { dir, name } = parse(photo);
  return [sidecarOf(photo), join(dir, `${name}.xmp`)];
};

type ExifToolLike = {
  read(file: string, opts?: { readArgs?: string[] }): Promise<Record<string, unknown>>;
  write(file: string, tags: Record<string, unknown>, opts?: { writeArgs?: string[] }): Promise<unknown>;
  version(): Promise<string>;
  end(): Promise<void>;
  /** The Perl processes running now. */
  readonly pids: number[];
};

/** The longest one ExifTool read or write may take. */
const TASK_TIMEOUT_MS = 60_000;

/**
 * Set a file's face regions (null: none), through ExifTool: a sidecar, or a photo, whose
 * image data ExifTool copies as it is. Either way the file is replaced by renaming a finished copy.
 */
async function writeRegions(tool: ExifToolLike, file: string, what: 'its sidecar' | 'the photo', info: object | null, onNotice?: (message: string) => void): Promise<void> {
  clearStaleTemp(file, onNotice);
  await tool.write(file, { RegionInfo: info }, { writeArgs: ['-overwrite_original'] }).catch((err: Error) => {
    // ExifTool's own words, less the path it appends (said first here).
    throw new Error(`cannot write ${what} ${file} (${err.message.split('\n')[0].replace(` - ${file}`, '')})`);
  });
}

/** A file's size, time and hash, as the library records a photo. */
async function fileStamp(path: string): Promise<{ size: number; mtimeMs: number; sha256: string }> {
  const st = statSync(path);
  return { size: st.size, mtimeMs: st.mtimeMs, sha256: await sha256File(path) };
}

/** ExifTool, started, or one line saying why it cannot be (it is a Perl program). */
export async function startExifTool(procs: number): Promise<ExifToolLike> {
  const { ExifTool } = await import('exiftool-vendored');
  const et = new ExifTool({ maxProcs: procs, taskTimeoutMillis: TASK_TIMEOUT_MS }) as unknown as ExifToolLike;
  try {
    await et.version();
  } catch (err) {
    await et.end().catch(() => {});
    throw new Error(`cannot start ExifTool, which reads and writes the XMP face regions (${(err as Error).message.split('\n')[0]}); it needs Perl: apt-get install perl`);
  }
  // exiftool-vendored's own timers do not hold the process: with its Perl process killed, a
  // task waited on nothing, and the process exited with status 0 in silence, photos not
  // written. A timer of ours holds it until end(), so that exiftool-vendored notices, starts
  // another and the task goes on.
  const hold = setInterval(() => {}, 1 << 30);
  // Stopped (Ctrl-C, SIGTERM, an error), the process left its Perl processes running, idle.
  const pids = new Set(et.pids);
  const track = setInterval(() => et.pids.forEach((pid) => pids.add(pid)), 1000);
  track.unref();
  const stopChildren = onExit(() => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // gone already
      }
    }
  });
  const end = et.end.bind(et);
  return Object.assign(et, {
    end: async () => {
      clearInterval(hold);
      clearInterval(track);
      stopChildren();
      await end();
    },
  });
}

/**
 * ExifTool writes `<file>_exiftool_tmp` and renames it over the file; a write stopped in
 * between (the run killed) leaves it behind, and ExifTool then refuses that file for good
 * ("Temporary file already exists"). One older than any write may take is such a leftover (the
 * gallery's lock keeps other exports out) and is removed; a recent one may be another ExifTool
 * at work, so the photo fails with a message saying what to do.
 */
function clearStaleTemp(file: string, onNotice?: (message: string) => void): void {
  const temp = `${file}_exiftool_tmp`;
  const s = statSync(temp, { throwIfNoEntry: false });
  if (!s) return;
  if (Date.now() - s.mtimeMs < TASK_TIMEOUT_MS) throw new Error(`${temp} is in the way: another ExifTool may be writing ${file} (run again when it is done, or delete that file)`);
  rmSync(temp, { force: true });
  onNotice?.(`removed ${temp}, left by a write that was stopped`);
}

/**
 * How metadata is read: ExifTool's JSON leaves unquoted any value that looks like a number, so
 * a region named "12.50" would come back as 12.5 (and be written back so, in another tool's
 * region); JSONQ quotes every value. `-fast` is exiftool-vendored's default, kept.
 */
const READ = { readArgs: ['-fast', '-api', 'structformat=jsonq'] };
const readTags = (tool: ExifToolLike, file: string) => tool.read(file, READ);

const regionList = (tags: Record<string, unknown>): MwgRegion[] => {
  const info = tags.RegionInfo as { RegionList?: unknown } | undefined;
  return Array.isArray(info?.RegionList) ? (info.RegionList as MwgRegion[]) : [];
};

/** A library photo's metadata as the regions need it. */
interface PhotoMeta {
  orientation: number;
  /** The regions a reader sees: the sidecar's, or without any there the photo's own. */
  regions: MwgRegion[];
  /** The sidecar's regions (none without one). */
  inSidecar: MwgRegion[];
  /** The photo's own regions, in the file. */
  inPhoto: MwgRegion[];
  /** The photo's sidecar, the first of photo.jpg.xmp and photo.xmp that exists, or null. */
  sidecar: string | null;
  /**
   * Every place other tools may name faces, for import, first to last: the sidecar's MWG
   * regions, the photo's, then Microsoft's in each, then IPTC's in each (otherNamedRegions
   * says which name wins).
   */
  forNames: MwgRegion[][];
}

/**
 * Read a library photo's orientation and regions, after checking that it is the photo that was
 * indexed (its boxes are of that one).
 */
async function readPhoto(tool: ExifToolLike, photo: StoredPhoto): Promise<PhotoMeta> {
  const now = statSync(photo.path, { throwIfNoEntry: false });
  if (!now) throw new Error('the photo is gone (index the library again)');
  if (now.size !== photo.size || now.mtimeMs !== photo.mtimeMs) throw new Error('the photo changed since it was indexed (index the library again)');
  if (!photo.width || !photo.height) throw new Error('its size is not stored (index the library again)');
  const tags = await readTags(tool, photo.path);
  if (typeof tags.Error === 'string') throw new Error(`cannot read its metadata (${tags.Error})`);
  const sidecar = sidecarsOf(photo.path).find((f) => existsSync(f)) ?? null;
  const orientation = Number(tags.Orientation ?? 1) || 1;
  const stored = storedSize(shownOf(photo), orientation);
  let inSidecar: MwgRegion[] = [];
  let microsoftInSidecar: MwgRegion[] = [];
  let iptcInSidecar: MwgRegion[] = [];
  if (sidecar) {
    // A sidecar that cannot be read fails the photo: not read as none (its regions would be
    // taken from the photo, or written over it).
    if (!statSync(sidecar).isFile()) throw new Error(`its sidecar ${sidecar} is not a file`);
    const side = await readTags(tool, sidecar);
    // (An empty one is an empty sidecar: ExifTool writes into it.)
    if (typeof side.Error === 'string' && side.Error !== 'File is empty') throw new Error(`cannot read its sidecar ${sidecar} (${side.Error})`);
    if (side.Error === undefined && side.FileType !== 'XMP') throw new Error(`its sidecar ${sidecar} is not XMP (ExifTool reads it as ${String(side.FileType ?? 'nothing it knows')})`);
    inSidecar = regionList(side);
    microsoftInSidecar = microsoftRegions(side.RegionInfoMP);
    iptcInSidecar = iptcRegions(side.ImageRegion, stored);
  }
  const inPhoto = regionList(tags);
  return {
    orientation,
    regions: inSidecar.length ? inSidecar : inPhoto,
    inSidecar,
    inPhoto,
    sidecar,
    forNames: [inSidecar, inPhoto, microsoftInSidecar, microsoftRegions(tags.RegionInfoMP), iptcInSidecar, iptcRegions(tags.ImageRegion, stored)],
  };
}

/** Run `one` over `items`, as many at a time as ExifTool has processes; a failure is recorded, the rest go on. */
async function eachPhoto<T>(items: readonly T[], procs: number, fileOf: (item: T) => string, one: (item: T) => Promise<void>, failed: { file: string; error: string }[], onProgress?: (done: number, total: number) => void): Promise<void> {
  const limit = pLimit(procs);
  let done = 0;
  await Promise.all(
    items.map((item) =>
      limit(async () => {
        try {
          await one(item);
        } catch (err) {
          failed.push({ file: fileOf(item), error: (err as Error).message.split('\n')[0] });
        }
        onProgress?.(++done, items.length);
      }),
    ),
  );
  failed.sort((a, b) => a.file.localeCompare(b.file));
}

/** ExifTool processes: each keeps a core busy. */
const exifProcs = () => coresUpTo(4);

const shownOf = (p: StoredPhoto) => ({ width: p.width!, height: p.height! });

/**
 * The faces nobody named that identify names at `match` against the gallery (face id ->
 * person), leaving out a face taken off that person before. Descriptors are read a page at a
 * time, so a million faces are never in memory at once.
 */
async function recognizeFaces(dir: string, store: LibraryStore, entries: readonly FaceEntry[], match: MatchOptions, onNotice?: (m: string) => void): Promise<Map<number, string>> {
  const gallery = await loadStoredGallery(dir, onNotice);
  if (!gallery.people().length) throw new RemedyError(`${dir}: nobody is named yet, so nobody can be recognized`, ' (name a cluster first: nameCluster)', { case: 'nobody-named', dir });
  const unnamed = new Map(entries.filter((f) => f.person === null).map((f) => [f.id, f.notPeople]));
  const found = new Map<number, string>();
  for (const { ids, raw } of store.descriptors()) {
    const rows = ids.flatMap((id, i) => (unnamed.has(id) ? [i] : []));
    if (!rows.length) continue;
    const batch = rows.map((i) => raw.subarray(i * store.dim, (i + 1) * store.dim));
    gallery.identify(batch, { ...match, top: 1 }).forEach((r, j) => {
      const id = ids[rows[j]];
      if (r.label !== null && !unnamed.get(id)!.includes(r.label)) found.set(id, r.label);
    });
  }
  return found;
}

/**
 * Write the library's named faces into the photos' XMP sidecars, as the gallery's one writer.
 * A photo that cannot be read or written is reported in `failed`, the others are done.
 */
export async function exportXmpRegions(dir: string, opts: XmpOptions = {}): Promise<XmpExportReport> {
  LibraryStore.mustExist(dir); // before the lock, which would make the folder's parents
  return withGalleryLock(dir, async () => {
    const store = LibraryStore.open(dir);
    let tool: ExifToolLike | null = null;
    try {
      const entries = store.faceEntries();
      const recognized = opts.recognize ? await recognizeFaces(dir, store, entries, opts.recognize, opts.onNotice) : new Map<number, string>();
      const named = groupBy(entries.filter((f) => f.person !== null || recognized.has(f.id)), (f) => f.path);
      const before = store.xmpRegions();
      const wasInPhoto = store.xmpRegionsInPhotos();
      const into = !!opts.intoPhotos;
      const photos = new Map(store.photos().map((p) => [p.path, p]));
      const paths = [...new Set([...named.keys(), ...before.keys()])].sort();
      const report: XmpExportReport = { photos: paths.length, written: 0, skipped: 0, regions: 0, recognized: 0, dropped: 0, kept: [], failed: [], dryRun: !!opts.dryRun };
      const nameOf = (f: FaceEntry) => f.person ?? recognized.get(f.id)!;
      // Up to date without reading it: facegpu wrote these very faces and names there last
      // (into the sidecar, or into the photo, as asked now).
      const upToDate = (path: string) => {
        const faces = (named.get(path) ?? []).map((f) => `${f.id}:${nameOf(f)}`).sort();
        const wrote = (before.get(path) ?? []).map((w) => `${w.face}:${w.name}`).sort();
        return faces.length === wrote.length && faces.every((k, i) => k === wrote[i]) && (!wrote.length || wasInPhoto.has(path) === into);
      };
      const todo: string[] = [];
      for (const path of paths) {
        if (opts.recheck || !photos.has(path) || !upToDate(path)) {
          todo.push(path);
          continue;
        }
        const wrote = before.get(path)!;
        report.skipped++;
        report.regions += wrote.length;
        report.recognized += wrote.filter((w) => recognized.has(w.face)).length;
      }
      if (!todo.length) return report;
      const procs = exifProcs();
      const et = (tool = await startExifTool(procs));
      await eachPhoto(todo, procs, (path) => path, async (path) => {
        const photo = photos.get(path);
        if (!photo) {
          // Gone from the library (deleted, and indexed since): nothing of it to write any more.
          if (!opts.dryRun) store.setXmpRegions(path, []);
          return;
        }
        const meta = await readPhoto(et, photo);
        const ours: NamedFace[] = (named.get(path) ?? []).map((f) => ({ face: f.id, name: nameOf(f), area: storedArea(f.box, shownOf(photo), meta.orientation) }));
        const prior = before.get(path) ?? [];
        const stored = storedSize(shownOf(photo), meta.orientation);
        const regionInfo = (regions: MwgRegion[]) => (regions.length ? { AppliedToDimensions: { H: stored.height, Unit: 'pixel', W: stored.width }, RegionList: regions } : null);
        // The two places a photo's regions can be: here, where facegpu's go now (the photo with
        // intoPhotos, else its sidecar: the one it has, or the one facegpu makes), and there.
        const photoPlace = { file: path, what: 'the photo' as const, exists: true, regions: meta.inPhoto };
        const sidecarPlace = { file: meta.sidecar ?? sidecarOf(path), what: 'its sidecar' as const, exists: meta.sidecar !== null, regions: meta.inSidecar };
        const [here, there] = into ? [photoPlace, sidecarPlace] : [sidecarPlace, photoPlace];
        // Planned on here's regions; a sidecar without any carries the photo's (it hides them
        // from readers that prefer it).
        const plan = planRegions(here.regions.length ? here.regions : meta.inPhoto, ours, prior);
        // facegpu's regions there from before (the other mode): taken out there.
        const switching = prior.length > 0 && wasInPhoto.has(path) !== into;
        const moved = switching ? planRegions(there.regions, [], prior) : null;
        // (Moving out of the photo into a sidecar that has no regions, the plan was made on the
        // photo's, where facegpu's are already: unchanged there, still to be written.)
        const write = (plan.changed || (switching && plan.written.length > 0)) && (here.exists || plan.regions.length > 0);
        const clean = !!moved?.changed && there.exists;
        if (!opts.dryRun) {
          // A photo written: the library takes its new bytes at once (its faces are the same),
          // before anything else can fail. What facegpu wrote where is remembered below, once
          // both places are done, so a run that fails between them does both again.
          const put = async (place: typeof here, regions: MwgRegion[]) => {
            await writeRegions(et, place.file, place.what, regionInfo(regions), opts.onNotice);
            if (place === photoPlace) store.touchPhoto(photo.id, await fileStamp(path));
          };
          if (write) await put(here, plan.regions);
          if (clean) await put(there, moved!.regions);
        }
        // Counted once written (a photo that failed is in `failed` alone).
        if (write || clean) report.written++;
        report.regions += plan.written.length;
        report.recognized += plan.written.filter((w) => recognized.has(w.face)).length;
        report.dropped += plan.dropped;
        for (const k of plan.kept) report.kept.push({ file: path, ...k });
        if (!opts.dryRun) store.setXmpRegions(path, plan.written, into);
      }, report.failed, opts.onProgress);
      report.kept.sort((a, b) => a.file.localeCompare(b.file) || a.face - b.face);
      return report;
    } finally {
      await tool?.end().catch(() => {});
      store.close();
    }
  }, { onWait: opts.onNotice });
}

/**
 * Name the library's faces from the named face regions other tools put in its photos (their
 * sidecars, photo.jpg.xmp or photo.xmp, or the photos themselves), through nameFaces. A face
 * facegpu already names otherwise, or took off that person, is left as it is and reported.
 */
export async function importXmpNames(dir: string, opts: XmpOptions = {}): Promise<XmpImportReport> {
  const report: XmpImportReport = { photos: 0, skipped: 0, regions: 0, named: [], already: 0, kept: [], notThem: [], unmatched: [], failed: [], dryRun: !!opts.dryRun };
  const toName: { person: string; face: number }[] = [];
  const stamps = new Map<string, string>();
  // Read without the gallery's lock (only the naming below writes, through nameFaces, which takes it).
  const store = LibraryStore.open(dir, { readonly: true });
  let tool: ExifToolLike | null = null;
  try {
    const byPath = groupBy(store.faceEntries(), (f) => f.path);
    const before = store.xmpRegions();
    const imported = store.xmpImported();
    const withFaces = store.photos().filter((p) => byPath.has(p.path));
    report.photos = withFaces.length;
    const stampOf = new Map(withFaces.map((p) => [p.path, importStamp(p, byPath.get(p.path)!)]));
    const photos = withFaces.filter((p) => opts.recheck || imported.get(p.path) !== stampOf.get(p.path)).sort((a, b) => a.path.localeCompare(b.path));
    report.skipped = withFaces.length - photos.length;
    if (!photos.length) return report;
    const procs = exifProcs();
    const et = (tool = await startExifTool(procs));
    await eachPhoto(photos, procs, (p) => p.path, async (photo) => {
      const meta = await readPhoto(et, photo);
      stamps.set(photo.path, stampOf.get(photo.path)!);
      if (!meta.forNames.some((regions) => regions.length)) return;
      const faces = byPath.get(photo.path)!;
      const areas: { face: number; area: RegionArea }[] = faces.map((f) => ({ face: f.id, area: storedArea(f.box, shownOf(photo), meta.orientation) }));
      for (const m of matchRegions(meta.forNames, areas, before.get(photo.path) ?? [])) {
        report.regions++;
        const face = m.face === null ? undefined : faces.find((f) => f.id === m.face)!;
        if (!face || !isPersonName(m.name)) report.unmatched.push({ file: photo.path, name: m.name });
        else if (face.person === m.name) report.already++;
        else if (face.person !== null) report.kept.push({ file: photo.path, face: face.id, name: face.person, theirs: m.name });
        else if (face.notPeople.includes(m.name)) report.notThem.push({ file: photo.path, face: face.id, name: m.name });
        else toName.push({ person: m.name, face: face.id });
      }
    }, report.failed, opts.onProgress);
  } finally {
    await tool?.end().catch(() => {});
    store.close();
  }
  for (const list of [report.kept, report.notThem, report.unmatched] as { file: string }[][]) list.sort((a, b) => a.file.localeCompare(b.file));
  for (const [person, faces] of [...groupBy(toName, (n) => n.person)].sort(([a], [b]) => a.localeCompare(b))) {
    if (!opts.dryRun) await nameFaces(dir, faces.map((n) => n.face), person, opts.onNotice);
    report.named.push({ person, faces: faces.length });
  }
  // Remembered once the names are in, so a run stopped before them reads those photos again.
  if (!opts.dryRun && stamps.size) await withGalleryLock(dir, async () => {
    const writable = LibraryStore.open(dir);
    try {
      writable.setXmpImported(stamps);
    } finally {
      writable.close();
    }
  }, { onWait: opts.onNotice });
  return report;
}

/**
 * What a photo's import depends on: the photo as indexed, its faces, and each sidecar it may
 * have (size and time, or none). The same stamp at the next import: nothing there to read anew.
 */
function importStamp(photo: StoredPhoto, faces: readonly FaceEntry[]): string {
  const sidecars = sidecarsOf(photo.path).map((f) => {
    const s = statSync(f, { throwIfNoEntry: false });
    return s ? [s.size, s.mtimeMs] : null;
  });
  return JSON.stringify([photo.size, photo.mtimeMs, faces.map((f) => f.id), sidecars]);
}
