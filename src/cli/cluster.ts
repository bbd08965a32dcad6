// facegpu cluster <gallery>: the photo library's faces nobody named, grouped into candidate people.
import type { Command } from 'commander';
import { progressBar } from './progress.ts';
import { CLUSTER_DEFAULTS } from '../library/cluster.ts';
import { clusterLibrary } from '../library/cluster-node.ts';
import { checkLibrary } from './remedies.ts';
import { countOption, numberOption } from './number-options.ts';
import { SHEET_FACES, sheetFile, sheetsFolderProblem, writeClusterSheets } from '../library/sheets-node.ts';
import { checkOutputDir, realish, within } from '../out-dir.ts';
import { counted, oneLine, shellWord } from './wording.ts';

interface ClusterCliOptions {
  epsilon: string;
  minEpsilon?: string;
  minFaces: string;
  json?: boolean;
  reorder?: boolean;
  sheets?: string;
  sheetFaces: string;
  progress?: boolean;
}

const STEP_NAMES = { indexing: 'indexing faces', searching: 'finding neighbours', reordering: 'reordering the search index' } as const;
const STEP_WIDTH = Math.max(...Object.values(STEP_NAMES).map((s) => s.length));

export function registerCluster(program: Command): void {
  program
    .command('cluster')
    .description('group the faces of a gallery\'s photo library into candidate people (named people are never merged); name one with `facegpu gallery name`')
    .argument('<gallery>', 'gallery folder with a photo library (facegpu index)')
    .option('--epsilon <d>', 'cosine distance under which two faces are neighbours (the loosest level clusters are looked for at)', String(CLUSTER_DEFAULTS.epsilon))
    .option('--min-epsilon <d>', `the tightest level: clusters that hold from --epsilon down to here are kept (equal to --epsilon: plain DBSCAN; default ${CLUSTER_DEFAULTS.minEpsilon}, or --epsilon where that is smaller)`)
    .option('--min-faces <n>', 'faces a person needs to form a cluster', String(CLUSTER_DEFAULTS.minClusterSize))
    .option('--reorder', 'then rebuild the search index with each cluster\'s faces together (takes as long as building it; faster search only where clusters are person-sized: src/library/README.md)')
    .option('--sheets <dir>', `also write a contact sheet of each cluster's faces into this folder (${sheetFile(3)} for cluster 3), to look at before naming it; the folder is replaced whole, so name a new one or one made by --sheets before`)
    .option('--sheet-faces <n>', `faces shown per cluster on --sheets, each captioned with its face id (for gallery name-faces and unname-faces); "all" for every face`, String(SHEET_FACES))
    .option('--no-progress', 'no progress bar on stderr')
    .option('--json', 'print {"clusters": [{"id", "faces", "photos", "person", "nearest", "examples"}], "noise", "faces", "searchIndex": {"faces", "seconds"} | null} as JSON')
    .action((gallery: string, opts: ClusterCliOptions) => clusterCommand(gallery, opts));
}

export async function clusterCommand(dir: string, opts: ClusterCliOptions): Promise<void> {
  const epsilon = numberOption('--epsilon', opts.epsilon);
  if (!(epsilon > 0 && epsilon <= 2)) throw new Error(`--epsilon is a cosine distance in (0, 2], got ${epsilon}`);
  const minEpsilon = opts.minEpsilon === undefined ? undefined : numberOption('--min-epsilon', opts.minEpsilon);
  if (minEpsilon !== undefined && !(minEpsilon > 0 && minEpsilon <= epsilon)) throw new Error(`--min-epsilon is a cosine distance in (0, --epsilon = ${epsilon}], got ${minEpsilon}`);
  const minFaces = countOption('--min-faces', opts.minFaces);
  const sheetFaces = opts.sheetFaces === 'all' ? Infinity : Number(opts.sheetFaces);
  if (!(/^\s*\d+\s*$/.test(opts.sheetFaces) && sheetFaces >= 1) && sheetFaces !== Infinity) throw new Error(`--sheet-faces must be a positive integer or "all", got "${opts.sheetFaces}"`);
  await checkLibrary(dir);
  if (opts.sheets !== undefined) await checkSheets(opts.sheets, dir);
  const bar = progressBar(' {step} |{bar}| {value}/{total} faces  {eta_formatted} left', opts.progress, { etaBuffer: 20 });
  let step: string | null = null;
  let r;
  try {
    r = await clusterLibrary(dir, {
      epsilon,
      minEpsilon,
      minClusterSize: minFaces,
      minSamples: Math.min(CLUSTER_DEFAULTS.minSamples, minFaces),
      reorderSearchIndex: opts.reorder === true,
      onNotice: (m) => console.error(`facegpu: ${m}`),
      // One bar per step, each left on screen when done (a million faces: half an hour in all).
      onProgress: (now, done, total) => {
        if (!bar) return;
        if (step !== now) {
          if (step) bar?.stop();
          bar.start(total, 0, { step: STEP_NAMES[now].padEnd(STEP_WIDTH) });
          step = now;
        }
        bar.update(done);
      },
    });
  } finally {
    if (step) bar?.stop();
  }
  if (opts.sheets !== undefined) {
    const sheetBar = progressBar(' contact sheets |{bar}| {value}/{total} clusters  {eta_formatted} left', opts.progress);
    sheetBar?.start(r.clusters.length, 0);
    try {
      await writeClusterSheets(dir, r.clusters, opts.sheets, { faces: sheetFaces, onProgress: (done) => sheetBar?.update(done) });
    } finally {
      sheetBar?.stop();
    }
    console.error(`facegpu: ${counted(r.clusters.length, 'contact sheet')} in ${opts.sheets}${r.clusters.length ? ` (${sheetFile(r.clusters[0].id)}, ...)` : ''}`);
  }
  if (opts.json) {
    process.stdout.write(JSON.stringify({ clusters: r.clusters, noise: r.noise, faces: r.faces, searchIndex: r.searchIndex }) + '\n');
    return;
  }
  const candidates = r.clusters.filter((c) => !c.person);
  console.log(`${dir}: ${counted(r.faces, 'face')}: ${counted(candidates.length, 'candidate person', 'candidate people')}, ${r.clusters.length - candidates.length} named, ${counted(r.noise, 'face')} in no cluster`);
  for (const c of r.clusters) {
    const who = c.person ? c.person : c.nearest ? `? (most like ${c.nearest.person}, ${c.nearest.similarity.toFixed(2)})` : '?';
    console.log(`  cluster ${c.id}: ${who}: ${counted(c.faces, 'face')} in ${counted(c.photos, 'photo')}, e.g. ${c.examples.slice(0, 3).map(oneLine).join(', ')}`);
  }
  if (r.searchIndex) console.log(`search index rebuilt with each cluster's faces together (${r.searchIndex.seconds.toFixed(1)} s)`);
  if (candidates.length) console.log(`name one: facegpu gallery name ${shellWord(dir)} <cluster> <person>`);
  if (opts.sheets !== undefined && r.clusters.length) console.log(`a face on a sheet that is someone else: facegpu gallery unname-faces ${shellWord(dir)} <face-id> (or name-faces ${shellWord(dir)} <person> <face-id>)`);
  // The defaults suit a library with many photos of each person; in a small one, or one of
  // spread-out web photos, few people reach --min-faces faces within --epsilon of each other.
  if (r.faces > 0 && r.noise * 2 > r.faces) {
    console.error(
      `facegpu: ${r.noise} of ${r.faces} faces are in no cluster: a cluster needs ${minFaces} faces of one person close together (cosine distance under ${epsilon}); ` +
        `for a small library or spread-out photos try a looser --epsilon (e.g. ${Math.min(2, Math.round((epsilon + 0.1) * 100) / 100)}) or a smaller --min-faces`,
    );
  }
}

/**
 * Refuse a --sheets folder before any work: one that cannot be written, that holds other
 * files, that lies inside the gallery (whose saves replace it whole) or holds it.
 */
async function checkSheets(out: string, gallery: string): Promise<void> {
  await checkOutputDir(out, { name: '--sheets' });
  const [o, g] = [await realish(out), await realish(gallery)];
  if (within(o, g)) throw new Error(`--sheets ${out}: is inside the gallery ${gallery}, which each save replaces whole; choose a folder outside it`);
  if (within(g, o)) throw new Error(`--sheets ${out}: holds the gallery ${gallery}, and the sheets' folder is replaced whole; choose a folder outside it`);
  const problem = await sheetsFolderProblem(out);
  if (problem) throw new Error(`--sheets ${out}: ${problem}`);
}
