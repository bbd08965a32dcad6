// facegpu demo: the main job end to end on what is installed, nothing downloaded, in seconds.
// The faces are those of the pictures @vladmandic/human ships (assets/): the five big face
// crops of its face-detection screenshot and the face of its face-ID screenshot. A few people
// are enrolled in a gallery (src/identity/node.ts Gallery) from their picture and two seeded
// altered copies; then new seeded copies (mirrored, cropped, lit differently) of everyone,
// the people held out included, are identified: the enrolled must be named, the held out
// called unknown. A table, an annotated contact sheet, and how to go on with one's own photos.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';
import { defaultBackboneSource } from '../backbones.ts';
import { DEFAULT_PREPROCESSING } from '../faces/framing.ts';
import { openFaceDescriber } from '../faces/node.ts';
import { loadImageRaw } from '../image/decode.ts';
import { Gallery, type IdentifiedFile } from '../identity/node.ts';
import { openEngine } from '../open-engine-node.ts';
import { checkOutputDir } from '../out-dir.ts';
import { countOption } from './number-options.ts';
import { escapeXml } from '../image/svg.ts';
import { deriveSeed, Prng } from '../train/prng.ts';

/** The pictures of @vladmandic/human used, and the smallest face taken from them (pixels). */
const PICTURES = ['screenshot-facedetect.jpg', 'screenshot-faceid.jpg'];
const MIN_FACE = 60;
/** People held out of the gallery (by their place in the order found): strangers to identify. */
const HELD_OUT = 2;
/** Marks a folder as the demo's, so a second run may replace it. */
const MARK = '.facegpu-demo';
const FAR = 0.01;

type Alteration = 'original' | 'flip' | 'crop' | 'light';

export interface DemoRow {
  photo: string;
  person: string;
  enrolled: boolean;
  alteration: Alteration;
  answer: string | null;
  similarity: number;
  right: boolean;
}

export interface DemoResult {
  people: string[];
  enrolled: string[];
  rows: DemoRow[];
  out: string;
  picture: string;
  seconds: number;
}

/** assets/ of the installed @vladmandic/human (beside its models/). */
export function humanAssetsDir(): string {
  return join(dirname(dirname(defaultBackboneSource())), 'assets');
}

interface Face {
  person: string;
  file: string;
  /** A square around the face, in the picture's pixels, inside it. */
  square: { left: number; top: number; size: number };
}

/** The faces of the shipped pictures, big enough, left to right, picture by picture. */
async function findFaces(describe: (files: string[]) => Promise<{ file: string; box: [number, number, number, number]; width: number; height: number }[][]>): Promise<Face[]> {
  const files = PICTURES.map((f) => join(humanAssetsDir(), f));
  for (const f of files) if (!existsSync(f)) throw new Error(`${f}: missing; the demo uses the pictures @vladmandic/human ships (npm install again?)`);
  const found = await describe(files);
  const out: Face[] = [];
  found.forEach((faces) =>
    faces
      .filter((f) => f.box[2] >= MIN_FACE)
      .sort((a, b) => a.box[0] - b.box[0])
      .forEach((f) => {
        const [x, y, w, h] = f.box;
        const size = Math.min(Math.round(Math.max(w, h) * 1.5), f.width, f.height);
        const left = Math.min(Math.max(0, Math.round(x + w / 2 - size / 2)), f.width - size);
        const top = Math.min(Math.max(0, Math.round(y + h / 2 - size / 2)), f.height - size);
        out.push({ person: `person-${String.fromCharCode(65 + out.length)}`, file: f.file, square: { left, top, size } });
      }),
  );
  return out;
}

/** One seeded altered copy of a face's square, as a JPEG file. */
async function writeCopy(face: Face, alteration: Alteration, seed: number, file: string): Promise<void> {
  const rng = new Prng(seed);
  let { left, top, size } = face.square;
  const meta = await sharp(face.file).metadata();
  if (alteration === 'crop') {
    // A tighter square, moved a little: 80-92% of the size, up to 6% off centre.
    const s = Math.round(size * rng.uniform(0.8, 0.92));
    left = Math.round(left + (size - s) / 2 + size * rng.uniform(-0.06, 0.06));
    top = Math.round(top + (size - s) / 2 + size * rng.uniform(-0.06, 0.06));
    size = s;
    left = Math.min(Math.max(0, left), meta.width! - size);
    top = Math.min(Math.max(0, top), meta.height! - size);
  }
  let img = sharp(face.file).extract({ left, top, width: size, height: size }).resize(224, 224, { kernel: 'lanczos3' });
  if (alteration === 'flip') img = img.flop();
  if (alteration === 'light') {
    const brighter = rng.next() < 0.5;
    img = img.modulate({ brightness: brighter ? rng.uniform(1.25, 1.45) : rng.uniform(0.55, 0.75) });
  }
  await img.jpeg({ quality: 90 }).toFile(file);
}

const ENROLL: Alteration[] = ['original', 'crop', 'light'];
const PROBES: Alteration[] = ['flip', 'crop', 'light'];

/** The demo folder: refused if it holds anything not made by the demo, emptied if it is the demo's. */
async function prepareOut(out: string): Promise<void> {
  await checkOutputDir(out, { name: '--out', needBytes: 8 * 2 ** 20 });
  const entries = existsSync(out) ? await readdir(out) : [];
  if (entries.length && !entries.includes(MARK)) throw new Error(`${out}: not empty and not a facegpu demo folder; give another with --out`);
  for (const e of entries) await rm(join(out, e), { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await writeFile(join(out, MARK), 'made by `facegpu demo`; replaced by the next run\n');
}

/** Run the demo into `out`: photos/, gallery/, demo.jpg. */
export async function runDemo(opts: { out: string; seed?: number; adapter?: string; onNotice?: (line: string) => void }): Promise<DemoResult> {
  const t0 = performance.now();
  const out = resolve(opts.out);
  const seed = opts.seed ?? 1;
  await prepareOut(out);
  const { gpu, engine } = await openEngine({ adapter: opts.adapter, onNotice: opts.onNotice });
  try {
    const describer = await openFaceDescriber(gpu, engine, DEFAULT_PREPROCESSING);
    let faces: Face[];
    try {
      faces = await findFaces(async (files) => {
        const images = await Promise.all(files.map((f) => loadImageRaw(f)));
        const found = await describer.describe(images);
        return found.map((fs, i) => fs.map((f) => ({ file: files[i], box: f.box, width: images[i].width, height: images[i].height })));
      });
    } finally {
      describer.destroy();
    }
    if (faces.length < HELD_OUT + 2) throw new Error(`found ${faces.length} faces in ${PICTURES.join(', ')} of @vladmandic/human, expected at least ${HELD_OUT + 2}`);
    const enrolled = faces.slice(0, faces.length - HELD_OUT);

    // The photos: enrolment copies of the enrolled, probe copies of everyone.
    const photos = join(out, 'photos');
    const enrollFiles = new Map<string, string[]>();
    const probes: { file: string; face: Face; alteration: Alteration }[] = [];
    for (const face of faces) {
      const isEnrolled = enrolled.includes(face);
      if (isEnrolled) {
        await mkdir(join(photos, 'enrolled', face.person), { recursive: true });
        const files = ENROLL.map((a) => join(photos, 'enrolled', face.person, `${a}.jpg`));
        await Promise.all(ENROLL.map((a, i) => writeCopy(face, a, deriveSeed(seed, face.person, 'enroll', a), files[i])));
        enrollFiles.set(face.person, files);
      }
      await mkdir(join(photos, 'probes'), { recursive: true });
      for (const a of PROBES) {
        const file = join(photos, 'probes', `${face.person}-${a}.jpg`);
        await writeCopy(face, a, deriveSeed(seed, face.person, 'probe', a), file);
        probes.push({ file, face, alteration: a });
      }
    }

    // The gallery, as a program would use it.
    const dir = join(out, 'gallery');
    const gallery = await Gallery.load(dir, { gpu, engine, create: true });
    let answers: IdentifiedFile[];
    try {
      for (const [person, files] of enrollFiles) {
        const r = await gallery.enroll(person, files);
        if (r.skipped.length) throw new Error(`enrolling ${person}: ${r.skipped.map((s) => `${s.file}: ${s.reason}`).join('; ')}`);
      }
      await gallery.save();
      answers = await gallery.identify(
        probes.map((p) => p.file),
        { far: FAR },
      );
    } finally {
      gallery.close();
    }

    const rows: DemoRow[] = probes.map((p, i) => {
      const a = answers[i];
      const best = 'faces' in a && a.faces.length ? a.faces.reduce((x, y) => (y.box[2] * y.box[3] > x.box[2] * x.box[3] ? y : x)) : null;
      const isEnrolled = enrolled.includes(p.face);
      const answer = best ? best.label : null;
      return {
        photo: relative(out, p.file),
        person: p.face.person,
        enrolled: isEnrolled,
        alteration: p.alteration,
        answer,
        similarity: best ? best.similarity : NaN,
        right: isEnrolled ? answer === p.face.person : answer === null,
      };
    });
    const picture = join(out, 'demo.jpg');
    await contactSheet(rows.map((r, i) => ({ ...r, file: probes[i].file })), picture);
    return { people: faces.map((f) => f.person), enrolled: enrolled.map((f) => f.person), rows, out, picture, seconds: (performance.now() - t0) / 1000 };
  } finally {
    engine.destroy();
    gpu.destroy();
  }
}

/** Every probe as a tile: a green frame when answered right, red when wrong, and the answer under it. */
async function contactSheet(rows: (DemoRow & { file: string })[], file: string): Promise<void> {
  const tile = 160;
  const label = 40;
  const cols = 6;
  const gap = 8;
  const rowsN = Math.ceil(rows.length / cols);
  const width = cols * (tile + gap) + gap;
  const height = rowsN * (tile + label + gap) + gap;
  const layers: OverlayOptions[] = [];
  const svg: string[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const x = gap + (i % cols) * (tile + gap);
    const y = gap + Math.floor(i / cols) * (tile + label + gap);
    layers.push({ input: await sharp(r.file).resize(tile, tile).toBuffer(), left: x, top: y });
    const colour = r.right ? '#2ecc40' : '#ff4136';
    svg.push(`<rect x="${x + 2}" y="${y + 2}" width="${tile - 4}" height="${tile - 4}" fill="none" stroke="${colour}" stroke-width="4"/>`);
    const said = r.answer ?? 'unknown';
    svg.push(`<text x="${x + tile / 2}" y="${y + tile + 16}" font-family="sans-serif" font-size="14" fill="${colour}" text-anchor="middle">${escapeXml(`${said} ${Number.isFinite(r.similarity) ? r.similarity.toFixed(2) : ''}`)}</text>`);
    svg.push(`<text x="${x + tile / 2}" y="${y + tile + 33}" font-family="sans-serif" font-size="12" fill="#bbbbbb" text-anchor="middle">${escapeXml(`${r.person}${r.enrolled ? '' : ' (stranger)'} ${r.alteration}`)}</text>`);
  }
  layers.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${svg.join('')}</svg>`), left: 0, top: 0 });
  await sharp({ create: { width, height, channels: 3, background: '#202020' } }).composite(layers).jpeg({ quality: 88 }).toFile(file);
}

function table(rows: DemoRow[]): string {
  const head = ['photo', 'who it is', 'answer', 'similarity', ''];
  const body = rows.map((r) => [r.photo, r.enrolled ? r.person : `${r.person} (not enrolled)`, r.answer ?? 'unknown', Number.isFinite(r.similarity) ? r.similarity.toFixed(3) : 'no face', r.right ? 'ok' : 'WRONG']);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c].length)));
  const line = (cells: string[]) => cells.map((x, c) => x.padEnd(widths[c])).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('enrol a few faces of the pictures installed with @vladmandic/human, then find them in altered copies (nothing downloaded)')
    .option('--out <dir>', 'folder for the photos, the gallery and demo.jpg', 'facegpu-demo')
    .option('--seed <n>', 'seed of the altered copies', '1')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { out: string; seed: string; json?: boolean }) => {
      const seed = countOption('--seed', opts.seed, 0);
      const adapter = (program.opts() as { adapter?: string }).adapter;
      const r = await runDemo({ out: opts.out, seed, adapter });
      if (opts.json) {
        console.log(JSON.stringify(r));
      } else {
        const enrolledRows = r.rows.filter((x) => x.enrolled);
        const strangerRows = r.rows.filter((x) => !x.enrolled);
        console.log(`Enrolled ${r.enrolled.join(', ')} (3 photos each: the face, a crop, other light); held out ${r.people.filter((p) => !r.enrolled.includes(p)).join(', ')} as strangers.`);
        console.log(`Faces from @vladmandic/human/assets (${PICTURES.join(', ')}); every copy seeded (--seed ${seed}).\n`);
        console.log(table(r.rows));
        console.log(
          `\nnamed right: ${enrolledRows.filter((x) => x.right).length}/${enrolledRows.length} of the enrolled people's photos; ` +
            `called unknown: ${strangerRows.filter((x) => x.right).length}/${strangerRows.length} of the strangers' (FAR ${FAR}); ${r.seconds.toFixed(1)} s`,
        );
        const rel = relative(process.cwd(), r.out) || '.';
        console.log(`\nwrote ${join(rel, 'demo.jpg')} (every photo with its answer), the photos in ${join(rel, 'photos')}/ and the gallery in ${join(rel, 'gallery')}/`);
        console.log(`\nWith your own photos (a folder per person, e.g. people-photos/Ana/*.jpg):`);
        console.log(`  npx facegpu enroll my-gallery/ people-photos/`);
        console.log(`  npx facegpu identify my-gallery/ party.jpg --far 0.01`);
        console.log(`  npx facegpu verify a.jpg b.jpg`);
      }
    });
}
