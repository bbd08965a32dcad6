// facegpu gallery list|remove|rename|name|faces|name-faces|unname-faces|export-xmp|import-xmp|stats
// <gallery>: what a gallery holds, corrections to it, its names to and from other photo tools
// (XMP sidecars), and how well it separates people.
import type { Command } from 'commander';
import type { KindSummary } from '../gallery/calibration-record.ts';
import type { GalleryStats } from '../gallery/gallery.ts';
import { lookupName } from '../identity/face-gallery.ts';
import { loadStoredGallery } from '../identity/node.ts';
import { realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { libraryGalleryStats, libraryIdsOf, nameCluster, nameFaces, removePerson, removePersonPhotos, renamePerson, unnameFaces, type FacesReport } from '../library/people-node.ts';
import { LibraryStore } from '../library/store-node.ts';
import { exportXmpRegions, importXmpNames, type XmpOptions } from '../library/xmp-node.ts';
import { progressBar } from './progress.ts';
import { checkLibrary, CLI_REMEDIES } from './remedies.ts';
import { counted, facegpuCommand, shellWord, warnUnknownName, withoutFile } from './wording.ts';
import { countOption } from './number-options.ts';
import { matchOptions } from './match-options.ts';

export function registerGallery(program: Command): void {
  const g = program.command('gallery').description('inspect and edit a gallery of enrolled people');
  g.command('list')
    .description("the people of a gallery, with their faces and photos; with a name, that person's faces, photo by photo")
    .argument('<gallery>', 'gallery folder')
    .argument('[name]', 'a person')
    .option('--json', 'print [{"name", "faces", "photos"}] as JSON; with a name, [{"file", "box", "addedAt", "libraryFace": its id in the photo library, or null}]')
    .action((dir: string, name: string | undefined, opts: { json?: boolean }) => (name === undefined ? listCommand(dir, opts) : listPersonCommand(dir, name, opts)));
  g.command('remove')
    .description('remove a person and all their faces; with --photo, only their faces from those photos (a wrong photo enrolled)')
    .argument('<gallery>', 'gallery folder')
    .argument('<name>', 'the person')
    .option('--photo <files...>', "only the person's faces cut from these photos (in a photo library, those faces are taken off them and stay off)")
    .option('--json', 'with --photo, print {"person", "faces", "libraryFaces", "left"} as JSON')
    .action((dir: string, name: string, opts: { photo?: string[]; json?: boolean }) => removeCommand(dir, name, opts));
  g.command('rename')
    .description('rename a person (in the photo library too); to the name of another person, the two become one')
    .argument('<gallery>', 'gallery folder')
    .argument('<name>', 'the person')
    .argument('<new-name>', 'their new name, or the person they are')
    .option('--json', 'print {"from", "to", "result": "renamed" | "merged", "faces", "libraryFaces"} as JSON')
    .action((dir: string, from: string, to: string, opts: { json?: boolean }) => renameCommand(dir, from, to, opts));
  g.command('name')
    .description('name a cluster of faces (facegpu cluster) as a person: identify and search then know them')
    .argument('<gallery>', 'gallery folder with a photo library')
    .argument('<cluster-id>', 'the cluster, as facegpu cluster lists it')
    .argument('<person>', 'who it is')
    .option('--json', 'print {"person", "cluster", "named", "already": of those, named so before, "kept": [{"person", "faces"}], "notThem"} as JSON')
    .action((dir: string, cluster: string, person: string, opts: { json?: boolean }) => nameCommand(dir, cluster, person, opts));
  g.command('faces')
    .description("a library photo's faces, left to right, with their ids (for name-faces and unname-faces), names and clusters")
    .argument('<gallery>', 'gallery folder with a photo library')
    .argument('<photos...>', 'photos of the library')
    .option('--json', 'print [{"file", "faces": [{"id", "box", "score", "person", "cluster", "notPeople": [people it was taken off]}], "error"?: why the photo could not be read when indexed}] as JSON')
    .action((dir: string, photos: string[], opts: { json?: boolean }) => facesCommand(dir, photos, opts));
  g.command('name-faces')
    .description('name faces of the photo library one by one (ids from gallery faces or cluster --sheets), taking them off whoever had them')
    .argument('<gallery>', 'gallery folder with a photo library')
    .argument('<person>', 'who they are')
    .argument('<face-ids...>', 'the faces')
    .option('--json', FACES_JSON)
    .action((dir: string, person: string, ids: string[], opts: { json?: boolean }) => {
      warnUnknownName(person);
      return faceIdsCommand(dir, ids, opts, (n) => nameFaces(dir, n, person, notice));
    });
  g.command('unname-faces')
    .description('take faces of the photo library off whoever they were named as; naming their cluster as that person again leaves them out')
    .argument('<gallery>', 'gallery folder with a photo library')
    .argument('<face-ids...>', 'the faces')
    .option('--json', FACES_JSON)
    .action((dir: string, ids: string[], opts: { json?: boolean }) => faceIdsCommand(dir, ids, opts, (n) => unnameFaces(dir, n, notice)));
  g.command('export-xmp')
    .description("write the photo library's named faces into each photo's XMP sidecar (photo.jpg.xmp) as MWG face regions, which digiKam (with sidecars on) and Immich (with face import on) read; the photos are not touched (see --into-photos)")
    .argument('<gallery>', 'gallery folder with a photo library')
    .option('--into-photos', "write the regions into the photos themselves instead, for tools that read no sidecar of a JPEG (Lightroom Classic, digiKam by default): ExifTool changes only the metadata, not the image, and the library takes the new files as its own (nothing is indexed again); facegpu's regions in the sidecars are taken out")
    .option('--far <rate>', 'also write the faces nobody named that facegpu recognizes at this false-accept rate (e.g. 0.001), as search --person finds them; give the same on every run, or they are taken out again')
    .option('--threshold <cosine>', 'the same with a similarity threshold instead of --far')
    .option('--recheck', "read every photo's sidecar again, also those whose faces and names did not change since the last export (after another tool changed them)")
    .option('--dry-run', 'say what would change, write nothing')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print {"photos", "written", "skipped", "regions", "recognized", "dropped", "kept": [{"file", "face", "name", "theirs"}], "failed": [{"file", "error"}], "dryRun"} as JSON')
    .action((dir: string, opts: ExportXmpCliOptions) => exportXmpCommand(dir, opts));
  g.command('import-xmp')
    .description('name the photo library\'s faces from the face regions other tools wrote (digiKam, Lightroom, Picasa, Windows Photo Gallery, IPTC regions as Photini writes them: in photo.jpg.xmp or photo.xmp and in the photo; where two name a face otherwise, the sidecar\'s name is read)')
    .argument('<gallery>', 'gallery folder with a photo library')
    .option('--recheck', 'read every photo again, also those whose file, sidecars and faces are as at their last import')
    .option('--dry-run', 'say who would be named, name nobody')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print {"photos", "skipped", "regions", "named": [{"person", "faces"}], "already", "kept": [{"file", "face", "name", "theirs"}], "notThem", "unmatched": [{"file", "name"}], "failed", "dryRun"} as JSON')
    .action((dir: string, opts: XmpCliOptions) => importXmpCommand(dir, opts));
  g.command('stats')
    .description('people, photos, faces, and verification/identification TAR at FAR 1e-2 and 1e-3 and the EER from the gallery\'s own photos')
    .argument('<gallery>', 'gallery folder')
    .option('--json', 'print the figures as JSON ("thresholds": what verify and identify use at FAR 0.01 and 0.001, each {"threshold", "source", "tar": the share of genuine pairs of the calibration reaching it}; "namedTwice": {"groups": [{"names", "similarity"}] of names that look like one person, calibrated as one, "faces": [{"file", "person", "other", "otherFile"?, "similarity"}] that score as another person, left out of the calibration, "moreLikeAnother": [{"file", "person", "other", "similarity", "own": to the other faces of their person, null for the only face of a person, "merge": {"from", "into", "because", "similarity"} where the two may be one person, else null}] more like another person than their own, warned of, "alike": [{"names", "similarity", "face": {"file", "person", "similarity"}}] of names alike enough to be one that the identify threshold at FAR 0.01 rests on, "restsOn": what that threshold rests on where it is a name that does not fit ({"on": "face", "face"}, {"on": "alike", "alike"} or {"on": "held", "face": {"file", "person", "other", "similarity"}, "held": faces of "other" more like "person"}), else null})')
    .action((dir: string, opts: { json?: boolean }) => statsCommand(dir, opts));
}

const FACES_JSON = 'print {"person", "changed", "from": [{"person", "faces"}], "removed": [people left with no face]} as JSON';

const notice = (m: string) => console.error(`facegpu: ${m}`);

const open = (dir: string) => loadStoredGallery(dir, notice);

async function listCommand(dir: string, opts: { json?: boolean }): Promise<void> {
  const people = (await open(dir)).people();
  if (opts.json) process.stdout.write(JSON.stringify(people) + '\n');
  else if (!people.length) console.log(`${dir}: no people`);
  else for (const p of people) console.log(`${p.name}: ${counted(p.faces, 'face')} from ${counted(p.photos, 'photo')}`);
}

async function listPersonCommand(dir: string, name: string, opts: { json?: boolean }): Promise<void> {
  const gallery = await open(dir);
  name = lookupName(name, (n) => gallery.hasPerson(n));
  const faces = gallery.faces().filter((f) => f.person === name);
  if (!faces.length) throw new Error(`${dir}: no person named "${name}"${CLI_REMEDIES['no-person']({ case: 'no-person', dir })}`);
  // Faces cut from a library photo: their id there, for name-faces and unname-faces.
  const ids = libraryIdsOf(dir, faces);
  const rows = faces.map((f) => ({ file: f.file, box: f.box, addedAt: f.addedAt, libraryFace: ids.get(f.id) ?? null }));
  if (opts.json) {
    process.stdout.write(JSON.stringify(rows) + '\n');
    return;
  }
  console.log(`${name}: ${counted(rows.length, 'face')} from ${counted(new Set(rows.map((r) => r.file)).size, 'photo')}`);
  for (const r of rows) {
    const at = r.box.map((v) => Math.round(v));
    console.log(`  ${r.file}: ${at[2]}x${at[3]} at ${at[0]},${at[1]}${r.libraryFace === null ? '' : ` (photo library face ${r.libraryFace})`}`);
  }
}

async function removeCommand(dir: string, name: string, opts: { photo?: string[]; json?: boolean }): Promise<void> {
  if (!opts.photo) {
    if (opts.json) throw new Error('--json goes with --photo (removing a whole person prints one line)');
    await removePerson(dir, name, notice);
    console.log(`${name}: removed from ${dir}`);
    return;
  }
  const r = await removePersonPhotos(dir, name, opts.photo, notice);
  if (opts.json) process.stdout.write(JSON.stringify(r) + '\n');
  else {
    const library = r.libraryFaces ? `; ${counted(r.libraryFaces, 'face')} of the photo library taken off ${name}` : '';
    console.log(`${name}: ${counted(r.faces, 'face')} removed${library}; ${r.left ? `${counted(r.left, 'face')} left` : `no face left, so ${name} is gone from ${dir}`}`);
  }
}

async function renameCommand(dir: string, from: string, to: string, opts: { json?: boolean }): Promise<void> {
  warnUnknownName(to);
  const r = await renamePerson(dir, from, to, notice);
  if (opts.json) process.stdout.write(JSON.stringify(r) + '\n');
  else {
    const library = r.libraryFaces ? `; ${counted(r.libraryFaces, 'face')} of the photo library renamed` : '';
    console.log(`${from}: ${r.result === 'merged' ? `merged into ${to}, now ${counted(r.faces, 'face')}` : `renamed ${to}`}${library}`);
  }
}

async function nameCommand(dir: string, cluster: string, person: string, opts: { json?: boolean }): Promise<void> {
  const id = countOption('<cluster-id>', cluster, 0);
  await checkLibrary(dir);
  warnUnknownName(person);
  const r = await nameCluster(dir, id, person, notice);
  if (opts.json) process.stdout.write(JSON.stringify(r) + '\n');
  else {
    const left = [...r.kept.map((k) => `${k.faces} of ${k.person}`), ...(r.notThem ? [`${r.notThem} taken off ${r.person} before`] : [])];
    // Named again: said as such, not as if the faces were named now.
    const before = r.already === r.named ? (r.named === 1 ? ', as before' : ', all as before') : r.already ? `, ${r.already} of them as before` : '';
    console.log(`cluster ${r.cluster}: ${counted(r.named, 'face')} named ${r.person}${before}${left.length ? ` (left as they were: ${left.join(', ')})` : ''}`);
  }
}

const isDirectorySync = (p: string) => statSync(p, { throwIfNoEntry: false })?.isDirectory() === true;
const realpathOr = (p: string) => {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
};

async function facesCommand(dir: string, photos: string[], opts: { json?: boolean }): Promise<void> {
  await checkLibrary(dir);
  const store = LibraryStore.open(dir, { readonly: true });
  let rows;
  try {
    rows = photos.map((p) => {
      // As given, or where it really is (a library indexed through a link to its tree stores the real paths).
      const photo = store.photoAt(resolve(p)) ?? store.photoAt(realpathOr(p));
      if (!photo && isDirectorySync(p)) throw new Error(`${p}: a folder; give its photos (facegpu gallery faces ${shellWord(dir)} <photo>...)`);
      if (!photo) throw new Error(`${p}: not a photo of the library in ${dir} (index its folder first: facegpu index <photos> --gallery ${shellWord(dir)})`);
      const faces = store.photoFaces(photo.path) ?? [];
      // A photo that could not be read when indexed has no faces for that reason: said.
      const { error } = photo;
      return { file: p, faces: faces.map(({ id, box, score, person, cluster, notPeople }) => ({ id, box, score, person, cluster, notPeople })), ...(error !== null && { error }) };
    });
  } finally {
    store.close();
  }
  if (opts.json) {
    process.stdout.write(JSON.stringify(rows) + '\n');
    return;
  }
  for (const r of rows) {
    if (r.error !== undefined) {
      console.log(`${r.file}: not read when indexed: ${withoutFile(r.error, resolve(r.file))}; indexed again once its bytes change`);
      continue;
    }
    console.log(`${r.file}: ${counted(r.faces.length, 'face')}`);
    for (const f of r.faces) {
      const at = f.box.map((v) => Math.round(v));
      const who = [f.person ?? 'nobody', ...(f.cluster !== null ? [`cluster ${f.cluster}`] : []), ...(f.notPeople.length ? [`not ${f.notPeople.join(' or ')}`] : [])];
      console.log(`  face ${f.id}: ${at[2]}x${at[3]} at ${at[0]},${at[1]}, ${who.join(', ')}`);
    }
  }
}

async function faceIdsCommand(dir: string, ids: string[], opts: { json?: boolean }, change: (ids: number[]) => Promise<FacesReport>): Promise<void> {
  const n = ids.map((id) => countOption('<face-ids>', id, 1));
  await checkLibrary(dir);
  const r = await change(n);
  if (opts.json) {
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  const from = r.from.length ? ` (from ${r.from.map((f) => `${f.person}: ${f.faces}`).join(', ')})` : '';
  console.log(`${counted(r.changed, 'face')} ${r.person ? `named ${r.person}` : 'named nobody'}${from}${r.removed.length ? `; ${r.removed.join(', ')} had no face left and left the gallery` : ''}`);
}

async function statsCommand(dir: string, opts: { json?: boolean }): Promise<void> {
  const gallery = await open(dir);
  const own = gallery.stats();
  // The photo library's counts (when there is one) on top of the enrolled people's figures.
  const s = { ...own, ...libraryGalleryStats(dir, gallery) };
  // A photo library with nobody named yet is not an empty gallery.
  if (s.library) s.warnings = s.warnings.filter((w) => !w.includes('is empty: enroll people first'));
  for (const w of s.warnings) console.error(`facegpu: warning: ${w}`);
  if (opts.json) {
    process.stdout.write(JSON.stringify(s) + '\n');
    return;
  }
  console.log(`${dir}: ${counted(s.people, 'person', 'people')}, ${counted(s.photos, 'photo')}, ${counted(s.faces, 'face')} (index: ${s.indexKind}; calibration: ${s.calibration})`);
  if (s.library) console.log(`photo library: ${counted(s.library.photos, 'photo')} (${s.library.failed} unreadable), ${counted(s.library.faces, 'face')}, ${s.unlabelled} not named, ${counted(s.library.clusters, 'cluster')}`);
  // Fewer than two people: the figures are the backbone's reference photos', not this gallery's.
  const whose = s.calibration === 'default' ? " (the backbone's reference photos, not this gallery's)" : '';
  printKind(`verify (face against face)${whose}`, 'verify', s.verify, s.thresholds.verify);
  printKind(`identify (face against the best other person)${whose}`, 'identify', s.identify, s.thresholds.identify);
}

function printKind(title: string, command: string, k: KindSummary | null, used: GalleryStats['thresholds']['verify']): void {
  if (!k) return;
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);
  const thr = (x: number | null) => (x === null ? '' : ` at similarity ${x.toFixed(3)}`);
  // Where the command will not use the measured threshold (the default's floor), say so.
  const uses = (far: '0.01' | '0.001', own: number | null) => {
    const u = used[far];
    // (The summary is of the same calibration, faces under two names left out: only the
    // default's floor makes them differ.)
    return u && u.source === 'gallery+default' && u.threshold !== own ? `; ${command} --far ${far} uses ${u.threshold.toFixed(3)} (the backbone's default as a floor), TAR there ${pct(u.tar)}` : '';
  };
  console.log(`${title}: ${k.genuinePairs} genuine and ${k.impostorPairs} impostor pairs`);
  console.log(`  TAR at FAR 1e-2: ${pct(k.tarAtFar1e2)}${thr(k.thresholdAtFar1e2)}${k.supportedFar1e2 ? '' : ' (too few impostor pairs)'}${uses('0.01', k.thresholdAtFar1e2)}`);
  console.log(`  TAR at FAR 1e-3: ${pct(k.tarAtFar1e3)}${thr(k.thresholdAtFar1e3)}${k.supportedFar1e3 ? '' : ' (too few impostor pairs)'}${uses('0.001', k.thresholdAtFar1e3)}`);
  console.log(`  EER: ${pct(k.eer)}${thr(k.eerThreshold)}`);
}

interface XmpCliOptions {
  dryRun?: boolean;
  recheck?: boolean;
  progress?: boolean;
  json?: boolean;
}

/**
 * Run an XMP job on the library of `dir` with a progress bar, its failures named on stderr
 * (exit 2); with --json its report printed and null returned, else the report for the text.
 */
async function runXmpJob<R extends { failed: { file: string; error: string }[] }>(dir: string, opts: XmpCliOptions, job: (o: XmpOptions) => Promise<R>): Promise<R | null> {
  await checkLibrary(dir);
  const bar = progressBar('metadata {bar} {value}/{total} photos', opts.progress);
  let r: R;
  try {
    r = await job({ dryRun: opts.dryRun, recheck: opts.recheck, onNotice: notice, onProgress: (done, total) => (done === 1 ? bar?.start(total, done) : bar?.update(done)) });
  } finally {
    bar?.stop();
  }
  for (const f of r.failed) console.error(`facegpu: ${f.file}: ${f.error}`);
  if (r.failed.length) process.exitCode = 2;
  if (!opts.json) return r;
  process.stdout.write(JSON.stringify(r) + '\n');
  return null;
}

type ExportXmpCliOptions = XmpCliOptions & { far?: string; threshold?: string; intoPhotos?: boolean };

async function exportXmpCommand(dir: string, opts: ExportXmpCliOptions): Promise<void> {
  const recognize = opts.far !== undefined || opts.threshold !== undefined ? matchOptions(opts) : undefined;
  const r = await runXmpJob(dir, opts, (o) => exportXmpRegions(dir, { ...o, recognize, intoPhotos: opts.intoPhotos }));
  if (!r) return;
  const would = r.dryRun ? 'would be ' : '';
  const dropped = r.dropped ? `, ${counted(r.dropped, 'region')} of facegpu's taken out` : '';
  console.log(`${counted(r.photos, 'photo')} with named faces: ${counted(r.written, opts.intoPhotos ? 'photo' : 'sidecar')} ${would}written${r.skipped ? ` (${r.skipped} already as the library has them, not read)` : ''}, ${counted(r.regions, 'face')} named in them${r.recognized ? ` (${r.recognized} recognized)` : ''}${dropped}${r.failed.length ? `, ${r.failed.length} failed` : ''}`);
  for (const k of r.kept) {
    console.log(`  ${k.file}: face ${k.face} left out: ${opts.intoPhotos ? 'the photo' : 'its sidecar'} names it "${k.theirs}", facegpu "${k.name}" (if facegpu is wrong: ${facegpuCommand('gallery name-faces', [dir, k.theirs, String(k.face)])})`);
  }
}

async function importXmpCommand(dir: string, opts: XmpCliOptions): Promise<void> {
  const r = await runXmpJob(dir, opts, (o) => importXmpNames(dir, o));
  if (!r) return;
  const faces = r.named.reduce((n, p) => n + p.faces, 0);
  const people = r.named.map((p) => `${p.person} (${p.faces})`).join(', ');
  const skipped = r.skipped ? ` (${r.skipped} as at their last import, not read)` : '';
  console.log(`${counted(r.photos, 'photo')} with faces${skipped}, ${counted(r.regions, 'named face region')} read: ${counted(faces, 'face')} ${r.dryRun ? 'would be ' : ''}named${people ? `: ${people}` : ''}; ${r.already} named so already${r.failed.length ? `; ${r.failed.length} failed` : ''}`);
  for (const k of r.kept) console.log(`  ${k.file}: face ${k.face} left as ${k.name}, its metadata says "${k.theirs}" (if that is right: ${facegpuCommand('gallery name-faces', [dir, k.theirs, String(k.face)])})`);
  for (const k of r.notThem) console.log(`  ${k.file}: face ${k.face} left unnamed, taken off ${k.name} before`);
  if (r.unmatched.length) console.log(`  ${counted(r.unmatched.length, 'region')} with no face found under it, e.g. ${r.unmatched[0].file}: "${r.unmatched[0].name}" (faces under --min-face, turned away, or a name facegpu refuses)`);
}
