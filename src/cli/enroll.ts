// facegpu enroll <gallery> <data> | --person NAME <images...>: add people to a gallery.
import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { openEngine } from '../open-engine-node.ts';
import { checkPersonName, LOOKALIKE_FAR, type FaceGallery } from '../identity/face-gallery.ts';
import { enrollFiles, peekGalleryBackbone, updateFaceGallery, type EnrollReport } from '../identity/node.ts';
import { checkGalleryFolder, galleryExists, gallerySaveBytes } from '../gallery/store-node.ts';
import { alikeBecause } from '../gallery/gallery.ts';
import { checkOutputDir } from '../out-dir.ts';
import { counted, facegpuCommand, warnUnknownName, withoutFile } from './wording.ts';
import { MIN_FACE_HELP, minFaceOption } from './number-options.ts';
import { remedyOf } from './remedies.ts';
import { onStopSignals, signalExitCode } from './stop-signals.ts';
import { expandImages } from './predict.ts';
import { listPeople } from '../train/dataset-node.ts';
import { join, resolve } from 'node:path';

interface EnrollCliOptions {
  person?: string;
  largest?: boolean;
  minFace?: string;
  backbone?: string;
  json?: boolean;
  adapter?: string;
}

export function registerEnroll(program: Command): void {
  program
    .command('enroll')
    .description('add people to a gallery (made if missing): <data>/<person>/* photos, or --person NAME <images...>; no retraining')
    .argument('<gallery>', 'gallery folder')
    .argument('<paths...>', 'a folder of person folders, or with --person: image files or folders')
    .option('--person <name>', 'enroll the given images as this person')
    .option('--largest', 'from a photo with several faces take the largest (else it is skipped)')
    .option('--min-face <pixels>', MIN_FACE_HELP)
    .option('--backbone <name|dir>', 'backbone of a new gallery (default: face; an existing gallery uses its own)')
    .option('--json', 'print [{"person", "added", "skipped": [{"file", "reason", "unreadable"?: true, "faces"?: n, "missedBelow"?: px, "copyOf"?: file}]}] as JSON (faces: how many a photo skipped for several had; missedBelow: no face found, and faces under that width not looked for without --min-face; copyOf: the enrolled photo it is a copy of), "lookalikes"?: [{"file", "person", "similarity", "threshold"}] (photos enrolled whose face the template of another person claims at the threshold identify uses at --far 0.001, more than their own: warned of), "sameAs"?: [{"person", "similarity", "one"?: {"because", "similarity"}, "into"?}] (people whose template is as alike to this one as the faces of one person are, or, with "one", whose faces say the two may be one ("because": all, most or alike; "into": the name to merge into): one person under two names? warned of), "left"?: n (photos not reached: stopped by Ctrl-C, which saves what was enrolled; exit status 130). Exit status 2 when a file could not be read, or when nothing was enrolled and a photo was skipped for its faces')
    .action((gallery: string, paths: string[], opts: EnrollCliOptions) => enrollCommand(gallery, paths, { ...opts, adapter: program.opts().adapter }));
}

export async function enrollCommand(galleryDir: string, paths: string[], opts: EnrollCliOptions): Promise<void> {
  // Everything about the input is checked before the GPU starts.
  const minFace = opts.minFace === undefined ? undefined : minFaceOption(opts.minFace);
  let plan: { person: string; files: string[] }[];
  if (opts.person !== undefined) {
    checkPersonName(opts.person);
    plan = [{ person: opts.person, files: await expandImages(paths) }];
  } else {
    if (paths.length !== 1) throw new Error(`without --person, give one folder of person folders (<data>/<person>/*), got ${paths.length} paths`);
    const st = await stat(paths[0]).catch(() => null);
    if (!st?.isDirectory()) throw new Error(`${paths[0]}: not a folder; without --person give <data> with one folder per person`);
    // The training layout, read as training reads it (links followed, loops warned, model folders skipped).
    const people = await listPeople(paths[0]);
    if (!people.size) throw new Error(`${paths[0]}: no person folders; expected ${join(paths[0], '<person>', '<images>')}, or name the person with --person`);
    plan = [...people].map(([person, files]) => ({ person, files }));
  }
  // identify prints "unknown" for a face it cannot name: a person of that name would read the same.
  for (const { person } of plan) warnUnknownName(person);
  const empty = plan.filter((p) => !p.files.length);
  if (empty.length === plan.length) throw new Error(`no image files in ${paths.join(', ')}`);
  // The gallery is written whole and renamed in: a place that cannot take it is told now.
  // Room for it too: a full disk found at the save would lose the whole enrolment's work.
  const needBytes = await gallerySaveBytes(galleryDir, plan.reduce((n, p) => n + p.files.length, 0));
  await checkOutputDir(galleryDir, { name: 'gallery', needBytes, readFrom: opts.person === undefined ? [{ path: paths[0], what: 'data folder' }] : [] });
  await checkGalleryFolder(galleryDir);
  const backbone = opts.backbone ?? ((await galleryExists(galleryDir)) ? (await peekGalleryBackbone(galleryDir)).id : 'face');
  const { gpu, engine } = await openEngine({ backbone, adapter: opts.adapter });
  const notice = (m: string) => console.error(`facegpu: ${m}`);
  // A first Ctrl-C stops after the photos under way and saves what was enrolled (a run of
  // minutes lost all of it); a second stops at once, saving nothing.
  const stop = new AbortController();
  const signals = onStopSignals(() => {
    stop.abort();
    notice('stopping after the photos under way; those enrolled are saved (Ctrl-C again to stop at once, saving nothing)');
  });
  try {
    const saved: { out: EnrollReport[]; stats: ReturnType<FaceGallery['stats']> } = await updateFaceGallery(galleryDir, { gpu, engine, create: true, minFace, onNotice: notice }, async (fg) => {
      const out: EnrollReport[] = [];
      for (const { person, files } of plan) {
        if (!files.length || stop.signal.aborted) {
          out.push({ person, added: 0, skipped: [], ...(files.length && { left: files.length }) });
          continue;
        }
        // Kept by their full paths, so that `gallery remove --photo` finds them from any folder;
        // told as given.
        const full = files.map((f) => resolve(f));
        const given = new Map(full.map((f, i) => [f, files[i]]));
        const r = await enrollFiles(fg, person, full, { largest: opts.largest, signal: stop.signal });
        const told = { ...r, skipped: r.skipped.map((s) => ({ ...cliWording(s), file: given.get(s.file) ?? s.file })) };
        for (const s of told.skipped) console.error(`facegpu: warning: skipped ${s.file}: ${s.reason}`);
        for (const l of r.lookalikes ?? []) {
          console.error(
            `facegpu: warning: ${given.get(l.file) ?? l.file} enrolled as ${JSON.stringify(r.person)} looks like ${JSON.stringify(l.person)} (similarity ${l.similarity.toFixed(3)}; identify --far ${LOOKALIKE_FAR} names from ${l.threshold.toFixed(3)}): ` +
              `a photo of them, or a face framed wrong? It lets strangers through more often; remove it with ${facegpuCommand('gallery remove', [galleryDir, r.person], ['--photo', l.file])}`,
          );
        }
        for (const p of (r.sameAs ?? []).filter((p) => p.one).slice(0, 3)) {
          // Not as alike as one person's faces, but their faces say they may be one.
          const from = p.into === r.person ? p.person : r.person;
          console.error(
            `facegpu: warning: ${JSON.stringify(r.person)} may be one person with ${JSON.stringify(p.person)} (templates ${p.similarity.toFixed(3)}; ${alikeBecause(p.one!)}): two names for one person? ` +
              `If so, merge them with ${facegpuCommand('gallery rename', [galleryDir, from, p.into!])}`,
          );
        }
        const byTemplates = (r.sameAs ?? []).filter((p) => !p.one);
        if (byTemplates.length) {
          const [like] = byTemplates;
          const others = byTemplates.map((p) => `${JSON.stringify(p.person)} (templates ${p.similarity.toFixed(3)})`).join(', ');
          // Into the name identify and gallery stats advise (the one with the most faces, the
          // first enrolled where as many): the person just enrolled may be the real one.
          const into = fg.gallery.peopleGroupsNamedTwice().find((g) => g.names.includes(r.person))?.names[0] ?? like.person;
          const [from, to] = into === r.person ? [like.person, r.person] : [r.person, into];
          console.error(
            `facegpu: warning: ${JSON.stringify(r.person)} looks like one person with ${others}, as alike as one person's faces: two names for one person? ` +
              `If so, merge them with ${facegpuCommand('gallery rename', [galleryDir, from, to])}`,
          );
        }
        out.push(told);
      }
      return { out, stats: fg.stats() };
    });
    // Said once the gallery is saved: a save that fails (a full disk, the lock lost) says
    // so instead, and no line claims faces it does not hold.
    const reports = saved.out;
    const s = saved.stats;
    console.error(`facegpu: ${galleryDir}: ${counted(s.people, 'person', 'people')}, ${counted(s.faces, 'face')} from ${counted(s.photos, 'photo')}`);
    for (const w of s.warnings) console.error(`facegpu: warning: ${w}`);
    // A file that could not be read: the others enrolled, exit status 2 (as every command).
    // So too when nothing was enrolled and a photo was skipped for its faces (none, several):
    // a run that did nothing asked of it. Copies of enrolled photos are not failures (a
    // second run over the same folder adds nothing, and says so).
    const failed = reports.some((r) => r.skipped.some((s) => s.unreadable));
    const nothing = reports.every((r) => r.added === 0) && reports.some((r) => r.skipped.some((s) => !s.copyOf));
    if (failed || nothing) process.exitCode = 2;
    const left = reports.reduce((n, r) => n + (r.left ?? 0), 0);
    if (signals.received) {
      console.error(`facegpu: stopped: ${counted(left, 'photo')} not enrolled; the same command again enrolls them (the photos enrolled are skipped as copies)`);
      process.exitCode = signalExitCode(signals.received);
    }
    if (opts.json) process.stdout.write(JSON.stringify(reports) + '\n');
    else for (const r of reports) console.log(`${r.person}: ${counted(r.added, 'face')} added${r.skipped.length ? `, ${counted(r.skipped.length, 'photo')} skipped` : ''}${r.left ? `, ${counted(r.left, 'photo')} not reached` : ''}`);
  } finally {
    signals.dispose();
    engine.destroy();
    gpu.destroy();
  }
}

/**
 * A skipped photo as the CLI words it: the reason without its file's name, which `file` holds
 * (in JSON, and after the name on stderr), a photo of several faces told of `--largest`, and
 * one without a face where small faces were not looked for told of `--min-face`.
 */
function cliWording(s: EnrollReport['skipped'][number]): EnrollReport['skipped'][number] {
  const reason =
    s.faces !== undefined
      ? `${s.faces} faces found; enroll photos of one face, or give --largest to take the largest`
      : s.missedBelow !== undefined
        ? `no face found${remedyOf({ case: 'small-faces', below: s.missedBelow })}`
        : withoutFile(s.reason, s.file);
  return { ...s, reason };
}
