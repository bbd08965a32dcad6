// facegpu bench gallery: a photo library's face index (a million faces by default) built and
// searched on synthetic descriptors drawn from a model fitted to real ones; see bench/README.md
// ("A million faces") for how the vectors are made and what is measured.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { modelFromJson, type DescriptorModel } from '../../bench/descriptor-model.ts';
import { fitGalleryModel, fitMinimum, galleryFacesForFit, GALLERY_FIT, type GalleryFitSource } from '../../bench/gallery-fit.ts';
import { INSERT_ORDERS, runGalleryBench, type IndexChoice, type InsertOrder } from '../../bench/gallery-bench.ts';
import { LIBRARY_INDEX, type UsearchQuantization } from '../gallery/usearch-index-node.ts';
import { MIN_CANDIDATES } from '../library/search-node.ts';
import { choiceOption, countListOption, countOption } from './number-options.ts';
import { fsReason } from '../fs-reason.ts';

interface Flags {
  faces: string;
  queries: string;
  seed: string;
  index: string;
  quantization: string;
  connectivity: string;
  expansionAdd: string;
  expansionSearch: string;
  partitions?: string;
  subVectors: string;
  nprobes: string;
  refine: string;
  exactTimed: string;
  sweep?: string;
  insertOrder: string;
  rescore: boolean;
  candidates: string;
  cache?: string;
  model: string;
  fit?: string;
  json?: boolean;
}

const DEFAULT_MODEL = join(import.meta.dirname, '..', '..', 'calibration', 'face.faces-model.json');

interface ModelChoice {
  model: DescriptorModel;
  /** The model file's text: keys the cache of drawn faces. */
  text: string;
  modelFile: string;
  fittedFrom?: GalleryFitSource;
}

function readModel(file: string): ModelChoice {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read the descriptor model (${fsReason(err)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${file}: not JSON`);
  }
  return { model: modelFromJson(json, file), text, modelFile: file };
}

/** --fit: the gallery checked (one line naming it) before the fit, the fit before any drawing. */
async function fitToGallery(dir: string): Promise<ModelChoice> {
  const t = performance.now();
  let fit;
  try {
    fit = fitGalleryModel(await galleryFacesForFit(dir));
  } catch (err) {
    throw new Error(`--fit: ${(err as Error).message}`);
  }
  console.error(`fitted the descriptor model to ${fit.fittedFrom.faces} faces of ${fit.fittedFrom.people} people of ${dir} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return { model: fit.model, text: fit.text, modelFile: `fitted to the gallery ${fit.fittedFrom.gallery}`, fittedFrom: fit.fittedFrom };
}

export function registerBenchGallery(bench: Command): void {
  bench
    .command('gallery')
    .description('build a face index of --faces synthetic descriptors (drawn from a model fitted to real ones) and measure build time, memory, single-query latency and recall against exact search')
    .option('--faces <n>', 'faces in the index', '1000000')
    .option('--queries <n>', 'queries (new faces of stored people), searched one at a time', '1000')
    .option('--seed <n>', 'seed of the drawn faces and queries', '1')
    .option('--index <kind>', 'usearch (HNSW, the library default) or lancedb (IVF_PQ with refine; dev dependency)', 'usearch')
    .option('--quantization <kind>', 'usearch: how vectors are stored, f32, f16 or i8', LIBRARY_INDEX.quantization)
    .option('--connectivity <n>', 'usearch: links per node', String(LIBRARY_INDEX.connectivity))
    .option('--expansion-add <n>', 'usearch: candidates kept while inserting', String(LIBRARY_INDEX.expansionAdd))
    .option('--expansion-search <n>', 'usearch: candidates kept while searching', String(LIBRARY_INDEX.expansionSearch))
    .option('--sweep <list>', 'usearch: also search the same graph with these expansions, e.g. 64,256')
    .option('--partitions <n>', 'lancedb: IVF partitions (default: about the square root of --faces)')
    .option('--sub-vectors <n>', 'lancedb: PQ sub-vectors (must divide 1024)', '64')
    .option('--nprobes <n>', 'lancedb: partitions searched per query', '20')
    .option('--refine <n>', 'lancedb: refine factor (candidates re-ranked on the stored vectors, x10)', '10')
    .option('--insert-order <order>', 'the order faces are added in: shuffled (as a photo library meets them) or identity (person by person)', 'shuffled')
    .option('--candidates <n>', "candidates asked of the index per query; recall counts the best 10 (the library's search asks for at least this many)", String(MIN_CANDIDATES))
    .option('--no-rescore', "keep the index's own order of its candidates (default: re-ranked exactly on the stored float32 vectors, as a gallery does)")
    .option('--exact-timed <n>', 'exact single-query searches timed for exactP50Ms', '20')
    .option('--cache <dir>', 'keep the drawn faces in this folder and reuse them in later runs (4 GB per million)')
    .option('--model <file>', 'descriptor model (scripts/fit-descriptor-model.ts writes one)', DEFAULT_MODEL)
    .addOption(
      new Option(
        '--fit <gallery>',
        `draw the faces from the descriptor model fitted to this gallery's named people instead (at least ${fitMinimum().people} people with 2+ faces; at most ${GALLERY_FIT.maxFaces} faces fitted)`,
      ).conflicts('model'),
    )
    .option('--json', 'print the result as JSON on stdout (progress goes to stderr)')
    .action(async (flags: Flags) => {
      // Everything that can be wrong is checked before minutes of drawing and building: every
      // flag (one line naming it), then the descriptor model.
      const faces = countOption('--faces', flags.faces, 10, 50_000_000);
      const queries = countOption('--queries', flags.queries, 1, 100_000);
      const seed = countOption('--seed', flags.seed, 0, 2 ** 32 - 1);
      const kind = choiceOption('--index', flags.index, ['usearch', 'lancedb'] as const);
      const quantization = choiceOption<UsearchQuantization>('--quantization', flags.quantization, ['f32', 'f16', 'i8']);
      const connectivity = countOption('--connectivity', flags.connectivity, 2, 256);
      const expansionAdd = countOption('--expansion-add', flags.expansionAdd, 1, 4096);
      const expansionSearch = countOption('--expansion-search', flags.expansionSearch, 1, 4096);
      const sweep = flags.sweep !== undefined ? countListOption('--sweep', flags.sweep, 1, 4096) : [];
      const partitions = flags.partitions !== undefined ? countOption('--partitions', flags.partitions, 1, 1_000_000) : Math.max(1, Math.round(Math.sqrt(faces)));
      const subVectors = countOption('--sub-vectors', flags.subVectors, 1, 1024);
      const nprobes = countOption('--nprobes', flags.nprobes, 1, 1_000_000);
      const refine = countOption('--refine', flags.refine, 1, 1000);
      const candidates = countOption('--candidates', flags.candidates, 10, 4096);
      const insertOrder = choiceOption<InsertOrder>('--insert-order', flags.insertOrder, INSERT_ORDERS);
      const exactTimed = countOption('--exact-timed', flags.exactTimed, 1, 100_000);
      const { model, text, modelFile, fittedFrom } = flags.fit !== undefined ? await fitToGallery(flags.fit) : readModel(flags.model);
      if (kind === 'lancedb' && model.dim % subVectors !== 0) throw new Error(`--sub-vectors ${subVectors} does not divide the ${model.dim} dimensions`);
      const index: IndexChoice = kind === 'usearch' ? { kind, quantization, connectivity, expansionAdd, expansionSearch } : { kind, partitions, subVectors, nprobes, refine };
      const r = await runGalleryBench({
        faces,
        queries,
        seed,
        model,
        modelFile,
        fittedFrom,
        modelText: text,
        cacheDir: flags.cache,
        index,
        insertOrder,
        exactTimed,
        rescore: flags.rescore,
        candidates,
        sweep,
        onProgress: (line) => console.error(line),
      });
      // `bench` has a --json of its own, which takes the flag wherever it is given.
      if (flags.json || bench.opts().json) process.stdout.write(JSON.stringify(r) + '\n');
      else {
        const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
        console.log(`${r.faces} faces x ${r.dims} (${r.identities} people, added ${r.insertOrder === 'identity' ? 'person by person' : 'in a shuffled order'}), ${JSON.stringify(r.index)}${r.addon ? ` on USearch's ${r.addon === 'prefetch' ? 'addon built with neighbour prefetch' : 'prebuilt addon'}` : ''}`);
        console.log(`drawn from ${r.fittedFrom ? 'the model ' : ''}${r.model}${r.fittedFrom ? ` (${r.fittedFrom.faces} faces of ${r.fittedFrom.people} people fitted)` : ''}`);
        console.log(`build ${r.buildSeconds} s, memory ${mib(r.memoryBytes)}${r.diskBytes !== undefined ? `, disk ${mib(r.diskBytes)}` : ''}`);
        console.log(`recall@1 ${r.recallAt1}${r.rescored ? ` (re-ranked; ${r.indexOrderRecallAt1} in the index's order)` : ''}, recall@10 ${r.recallAt10} over ${r.queries} queries; search p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms; exact p50 ${r.exactP50Ms} ms`);
        for (const w of r.sweep ?? []) console.log(`  expansion ${w.expansionSearch}: recall@1 ${w.recallAt1}, recall@10 ${w.recallAt10}, p50 ${w.p50Ms} ms, p99 ${w.p99Ms} ms`);
        console.log(`load ${r.load[0]} -> ${r.load[1]} on ${r.cores} cores`);
      }
    });
}
