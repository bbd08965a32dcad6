// facegpu identify <gallery> <images-or-folders...>: every face of every photo, named or unknown.
import type { Command } from 'commander';
import { openEngine } from '../open-engine-node.ts';
import { identifyFiles, openFaceGallery, type IdentifiedFace, type IdentifiedFile } from '../identity/node.ts';
import type { NamedImage } from '../identity/face-gallery.ts';
import { readGalleryJson } from '../gallery/store-node.ts';
import { LibraryStore } from '../library/store-node.ts';
import { matchOptions, fmt, tellThreshold } from './match-options.ts';
import { expandImages } from './predict.ts';
import { MIN_FACE_HELP, minFaceOption, numberOption } from './number-options.ts';
import { CLI_REMEDIES } from './remedies.ts';
import { counted, oneLine, shellWord, withoutFile } from './wording.ts';
import { annotator, checkAnnotateDir } from './annotate.ts';
import { stat } from 'node:fs/promises';

interface IdentifyCliOptions {
  far?: string;
  threshold?: string;
  top: string;
  json?: boolean;
  minFace?: string;
  annotate?: string;
  adapter?: string;
}

export function registerIdentify(program: Command): void {
  program
    .command('identify')
    .description('name every face of every photo from a gallery, or "unknown" below the threshold for the false-accept rate asked')
    .argument('<gallery>', 'gallery folder (facegpu enroll)')
    .argument('<images...>', 'image files or folders (searched recursively)')
    .option('--far <f>', 'false-accept rate the threshold is chosen for, from the gallery\'s calibration (default 0.01)')
    .option('--threshold <s>', 'cosine similarity threshold given directly (instead of --far)')
    .option('--top <k>', 'candidates listed per face', '3')
    .option('--min-face <pixels>', MIN_FACE_HELP)
    .option('--annotate <dir>', 'also write each photo as a JPEG with its faces boxed and named into this folder (the photos\' folders kept)')
    .option('--json', 'print [{"file", "faces": [{"box": [x, y, w, h], "score", "label" (null: unknown), "similarity", "threshold" (the one it was named by), "candidates": [{"label", "similarity"}]}]}] as JSON')
    .action((gallery: string, images: string[], opts: IdentifyCliOptions) => identifyCommand(gallery, images, { ...opts, adapter: program.opts().adapter }));
}

export async function identifyCommand(galleryDir: string, images: string[], opts: IdentifyCliOptions): Promise<void> {
  const match = matchOptions(opts);
  const top = numberOption('--top', opts.top, true);
  if (top < 1) throw new Error(`--top must be at least 1, got ${top}`);
  const minFace = opts.minFace === undefined ? undefined : minFaceOption(opts.minFace);
  const files = await expandImages(images);
  if (opts.annotate !== undefined) {
    const folders = [];
    for (const p of images) if ((await stat(p).catch(() => null))?.isDirectory()) folders.push(p);
    await checkAnnotateDir(opts.annotate, files, folders);
  }
  const json = await readGalleryJson(galleryDir);
  // Nobody to name: told before the GPU starts, with the way to get people for this gallery.
  if (!json.people.length) {
    throw new Error(
      LibraryStore.exists(galleryDir)
        ? `${galleryDir}: no one is named in this gallery yet: name the people of its photo library first (facegpu cluster ${shellWord(galleryDir)}, then facegpu gallery name ${shellWord(galleryDir)} <cluster> <person>), or enroll them (facegpu enroll ${shellWord(galleryDir)} <photos>)`
        : `${galleryDir}: the gallery is empty${CLI_REMEDIES['no-gallery']({ case: 'no-gallery', dir: galleryDir })}`,
    );
  }
  const backbone = json.backbone;
  const { gpu, engine } = await openEngine({ backbone: backbone.id, adapter: opts.adapter });
  try {
    const fg = await openFaceGallery(galleryDir, { gpu, engine, minFace, onNotice: (m) => console.error(`facegpu: ${m}`) });
    try {
      const threshold = tellThreshold(fg.gallery, 'identify', match);
      const times = { decodeMs: 0 };
      const drawn = opts.annotate === undefined ? null : annotator(opts.annotate, files, (m) => {
        console.error(`facegpu: ${m}`);
        process.exitCode = 1;
      });
      const t0 = performance.now();
      // Photos without a face where small ones were not looked for: told once, with the flag.
      const missed: { file: string; below: number }[] = [];
      const onIdentified = async (photo: NamedImage, faces: IdentifiedFace[]) => {
        const below = faces.length ? null : fg.describer.missedBelow(photo.image);
        if (below !== null) missed.push({ file: photo.name, below });
        await drawn?.onIdentified(photo, faces);
      };
      const results = await identifyFiles(fg, files, { ...match, top, times, onIdentified });
      const wall = performance.now() - t0;
      for (const r of results) if ('error' in r) console.error(`facegpu: warning: ${r.error}`);
      if (opts.json) process.stdout.write(JSON.stringify(results.map((r) => jsonOf(r, threshold))) + '\n');
      else for (const r of results) printFile(r);
      const d = fg.describer.times;
      const per = (ms: number) => `${(ms / Math.max(1, files.length)).toFixed(1)}`;
      console.error(
        `facegpu: ${counted(files.length, 'photo')}, ${counted(d.faces, 'face')} in ${(wall / 1000).toFixed(1)} s; ms per photo: decode ${per(times.decodeMs)}, detection ${per(d.detectMs)}, ` +
          `alignment ${per(d.alignMs)}, descriptors ${per(d.embedMs)}, search ${per(fg.searchMs)} (${gpu.adapter.description || gpu.adapter.vendor})`,
      );
      if (drawn) console.error(`facegpu: ${counted(drawn.written(), 'photo')} drawn with their faces in ${opts.annotate}`);
      if (missed.length) {
        const lo = missed.reduce((a, m) => Math.min(a, m.below), Infinity);
        const hi = missed.reduce((a, m) => Math.max(a, m.below), 0);
        console.error(
          `facegpu: no face found in ${counted(missed.length, 'photo')} big enough that faces under ~${lo === hi ? lo : `${lo}-${hi}`} pixels wide were not looked for ` +
            `(${missed[0].file}${missed.length > 1 ? ', ...' : ''}); --min-face <pixels> looks for them, slower`,
        );
      }
      if (results.some((r) => 'error' in r) && !process.exitCode) process.exitCode = 2;
    } finally {
      fg.describer.destroy();
    }
  } finally {
    engine.destroy();
    gpu.destroy();
  }
}

/** The JSON shape the CLI documents: similarities rounded to 6 places; each face with the threshold it was named by. */
function jsonOf(r: IdentifiedFile, threshold: number) {
  // The error without its file's name, which "file" holds (as embed and predict give it).
  if ('error' in r) return { file: r.file, error: withoutFile(r.error, r.file) };
  const r6 = (x: number) => Math.round(x * 1e6) / 1e6;
  return {
    file: r.file,
    faces: r.faces.map((f) => ({
      box: f.box.map((v) => Math.round(v * 10) / 10),
      score: r6(f.score),
      label: f.label,
      similarity: r6(f.similarity),
      threshold: r6(threshold),
      candidates: f.candidates.map((c) => ({ label: c.label, similarity: r6(c.similarity) })),
    })),
  };
}

function printFile(r: IdentifiedFile): void {
  if ('error' in r) return;
  console.log(`${oneLine(r.file)}: ${r.faces.length ? `${r.faces.length} face${r.faces.length > 1 ? 's' : ''}` : 'no face'}`);
  for (const f of r.faces) {
    const others = f.candidates.slice(f.label ? 1 : 0).map((c) => `${c.label} ${fmt(c.similarity)}`).join(', ');
    console.log(`  [${f.box.map((v) => Math.round(v)).join(', ')}] ${f.label ?? 'unknown'} ${fmt(f.similarity)}${others ? ` (${f.label ? 'next: ' : 'nearest: '}${others})` : ''}`);
  }
}
