// facegpu search <gallery> <image> | --person NAME: the library's photos in which the person of
// that face appears, or the named person (no photo, no GPU).
import type { Command } from 'commander';
import { openEngine } from '../open-engine-node.ts';
import { loadImageRaw } from '../image/decode.ts';
import type { SearchResult } from '../library/search-node.ts';
import { searchLibraryByPerson, searchLibraryByPhoto } from '../library/search-run-node.ts';
import { readGalleryJson } from '../gallery/store-node.ts';
import { fmt, matchOptions } from './match-options.ts';
import { checkLibrary } from './remedies.ts';
import { countOption, MIN_FACE_HELP, minFaceOption } from './number-options.ts';
import { oneLine } from './wording.ts';

interface SearchCliOptions {
  top: string;
  far?: string;
  threshold?: string;
  minFace?: string;
  person?: string;
  json?: boolean;
  adapter?: string;
}

export function registerSearch(program: Command): void {
  program
    .command('search')
    .description('the photos of a gallery\'s library in which the person of a face appears, or a named person, best first')
    .argument('<gallery>', 'gallery folder with a photo library (facegpu index)')
    .argument('[image]', 'a photo of the person (its largest face is searched)')
    .option('--person <name>', 'instead of a photo: a person of the gallery (enrolled, or a cluster named): their named faces, and the faces identify would name them (--far is then identify\'s)')
    .option('--top <k>', 'photos listed at most', '20')
    .option('--far <f>', 'false-accept rate per compared face the threshold is chosen for (default 0.01)')
    .option('--threshold <s>', 'cosine similarity threshold given directly (instead of --far)')
    .option('--min-face <pixels>', MIN_FACE_HELP)
    .option('--json', 'print [{"file", "similarity", "face": its id, "box": [x, y, w, h], "person"}] as JSON, best first')
    .action((gallery: string, image: string | undefined, opts: SearchCliOptions) => searchCommand(gallery, image, { ...opts, adapter: program.opts().adapter }));
}

export async function searchCommand(dir: string, image: string | undefined, opts: SearchCliOptions): Promise<void> {
  const top = countOption('--top', opts.top);
  const match = matchOptions(opts);
  const minFace = opts.minFace === undefined ? undefined : minFaceOption(opts.minFace);
  if (image !== undefined && opts.person !== undefined) throw new Error('give a photo of the person or --person <name>, not both');
  if (image === undefined && opts.person === undefined) throw new Error('give a photo of the person to search for, or --person <name>');
  if (opts.person !== undefined && minFace !== undefined) throw new Error('--min-face is for finding the face in a photo; --person searches without one');
  const notice = (m: string) => console.error(`facegpu: ${m}`);
  const { backbone } = await readGalleryJson(dir);
  await checkLibrary(dir);
  // (With no photo there is a --person: told above.)
  if (image === undefined) {
    const r = await searchLibraryByPerson(dir, opts.person!, { ...match, top, onNotice: notice });
    return print(`${r.person}: `, r, opts.json);
  }
  // The photo read before a device is opened: a bad file is said at once.
  const photo = await loadImageRaw(image);
  const { gpu, engine } = await openEngine({ backbone: backbone.id, adapter: opts.adapter });
  let r;
  // The engine, then the device it was made on, released on every path.
  try {
    r = await searchLibraryByPhoto(dir, { name: image, image: photo }, { gpu, engine, minFace, ...match, top, onNotice: notice });
  } finally {
    try {
      engine.destroy();
    } finally {
      gpu.destroy();
    }
  }
  if (r.faces > 1) notice(`${image}: ${r.faces} faces; searching for the largest`);
  print(`${image}: ${r.person ? `${r.person}; ` : ''}`, r, opts.json);
}

/** The hits as JSON, or a heading after `head` and a line per photo. */
function print(head: string, r: SearchResult, json?: boolean): void {
  const r6 = (x: number) => Math.round(x * 1e6) / 1e6;
  if (json) {
    process.stdout.write(JSON.stringify(r.photos.map((p) => ({ file: p.file, similarity: r6(p.similarity), face: p.face, box: p.box.map((v) => Math.round(v * 10) / 10), person: p.person }))) + '\n');
    return;
  }
  // A face named as the person is listed whatever its similarity (a profile, a child's face years ago).
  const which = `${r.person ? `named ${r.person} or ` : ''}at similarity >= ${fmt(r.threshold)}`;
  console.log(`${head}${r.photos.length} photo${r.photos.length === 1 ? '' : 's'} ${which}`);
  // The face's id: a photo found that is not the person is put right with gallery unname-faces.
  for (const p of r.photos) console.log(`  ${fmt(p.similarity)}  ${oneLine(p.file)}  (face ${p.face}${p.person ? `, ${p.person}` : ''})`);
}
