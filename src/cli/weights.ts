// facegpu weights convert|install|info
import { basename, dirname, resolve } from 'node:path';
import { checkOutputDir } from '../out-dir.ts';
import { defaultBackboneSource, resolveBackboneDir } from '../backbones.ts';
import { defaultBackboneDir, defaultBackboneUpToDate } from '../default-backbone.ts';
import { convertTfjsModel } from '../weights/convert.ts';
import { downloadTfjsModel } from '../weights/download.ts';
import type { BackboneManifest } from '../weights/format.ts';
import { PREPROCESS_RAW, PREPROCESS_SIGNED } from '../weights/spec.ts';
import { checkBackboneReplaceable, loadBackbone, saveBackbone, sha256 } from '../weights/store.ts';
import { convertTfliteModel, isTfliteFile, type TfliteSource } from '../weights/tflite.ts';
import { fetchTfliteFile } from '../weights/tflite-download.ts';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../backbones.ts';
import { META_FILE } from '../train/model-format.ts';
import { facegpuCommand } from './wording.ts';

/** About what a converted backbone folder takes while it is replaced (MobileNet V1 1.0: ~13 MB, twice, and room to spare). */
const BACKBONE_DIR_BYTES = 32 * 2 ** 20;

export async function convertCommand(model: string, opts: { out: string; input?: string; sha256?: string }): Promise<void> {
  const preprocessArg = opts.input;
  if (preprocessArg && preprocessArg !== 'raw' && preprocessArg !== 'signed') throw new Error(`--input must be "raw" (0..255) or "signed" (-1..1), not "${preprocessArg}"`);
  // The output folder is checked before a download or a conversion; never over the source.
  const local = !/^https?:\/\//.test(model);
  await checkOutputDir(opts.out, { name: '--out', needBytes: BACKBONE_DIR_BYTES, readFrom: local ? [{ path: dirname(resolve(model)), what: 'source model folder', insideOk: true }] : [] });
  await checkBackboneReplaceable(opts.out);
  const before = heldManifest(opts.out);
  // A TFLite flatbuffer (by its name, or its "TFL3" identifier), else a tfjs model.json.
  const tflite = /\.tflite(\?.*)?$/i.test(model) || (local && (await isTfliteFile(model)));
  if (/^https?:\/\//.test(model)) {
    console.error(`downloading ${model} ...`);
    model = tflite ? await fetchTfliteFile(model, { sha256: opts.sha256 }) : await downloadTfjsModel(model, { sha256: opts.sha256 });
  } else if (tflite && opts.sha256) {
    const have = sha256(readFileSync(model));
    if (have !== opts.sha256) throw new Error(`${model}: sha256 ${have} does not match the expected ${opts.sha256}`);
  }
  const preprocess = opts.input === 'raw' ? PREPROCESS_RAW : opts.input === 'signed' ? PREPROCESS_SIGNED : undefined;
  if (opts.input && !preprocess) throw new Error(`--input must be "raw" (0..255) or "signed" (-1..1), not "${opts.input}"`);
  const spec = tflite ? await convertTfliteModel(resolve(model), { preprocess }) : await convertTfjsModel(resolve(model), { preprocess });
  const m = await saveBackbone(spec, opts.out, basename(resolve(opts.out)));
  // Models and galleries find their backbone by its weights and input scaling: another one
  // put in its folder leaves them looking for it (said there, later; said here, now).
  if (before && (before.weightsSha256 !== m.weightsSha256 || before.preprocess?.scale !== m.preprocess.scale || before.preprocess?.offset !== m.preprocess.offset)) {
    console.error(`facegpu: warning: ${opts.out} held another backbone (weights sha256 ${String(before.weightsSha256).slice(0, 12)}…, input ${before.preprocess?.range ?? 'unknown'}), now replaced: models and galleries made on it no longer find it here`);
  }
  const q = tflite ? `, ${(m.source as TfliteSource).quantization.summary}` : '';
  console.log(`${opts.out}: MobileNet V1 alpha ${m.alpha} at ${m.inputSize}, ${m.layers.length} conv layers, ${m.outputDim}-d descriptor from ${m.source.output}, input ${m.preprocess.range}${q}, ${(m.weightsBytes / 1e6).toFixed(1)} MB, sha256 ${m.weightsSha256.slice(0, 16)}...`);
}

/** The backbone a model folder's facegpu.json names (its id, and where it was), or null where it cannot be read. */
function heldModelBackbone(dir: string): { id: string; path?: string } | null {
  try {
    const b = (JSON.parse(readFileSync(join(dir, META_FILE), 'utf8')) as { backbone?: { id?: unknown; path?: unknown } }).backbone;
    return typeof b?.id === 'string' ? { id: b.id, ...(typeof b.path === 'string' ? { path: b.path } : {}) } : null;
  } catch {
    return null;
  }
}

/** The manifest of the backbone a folder holds now, or null (none, or unreadable). */
function heldManifest(dir: string): Partial<BackboneManifest> | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Partial<BackboneManifest>;
  } catch {
    return null;
  }
}

/** The ImageNet MobileNet V1 1.0 224 (Coral's uint8 TFLite embedding extractor) beside a checkout: ../shared/weights/tflite-coral/. */
export const IMAGENET_TFLITE = 'mobilenet_v1_1.0_224_quant_embedding_extractor.tflite';
export function imagenetSource(): string {
  const candidates = [process.env.FACEGPU_SHARED, join(PROJECT_ROOT, '..', 'shared'), join(process.cwd(), '..', 'shared')].filter((d): d is string => !!d);
  for (const d of candidates) {
    const f = join(d, 'weights', 'tflite-coral', IMAGENET_TFLITE);
    if (existsSync(f)) return f;
  }
  throw new Error(`${IMAGENET_TFLITE} is not in ${candidates.map((d) => join(d, 'weights', 'tflite-coral')).join(' nor ')}; pass its path or URL with --from`);
}

/** `weights install imagenet`: convert the TFLite ImageNet backbone into weights/imagenet, unless already converted from the same file. */
async function installImagenet(opts: { from?: string; sha256?: string; force?: boolean }): Promise<void> {
  const dir = resolveBackboneDir('imagenet');
  let src = opts.from ?? imagenetSource();
  if (/^https?:|^file:/i.test(src)) {
    console.error(`downloading ${src} ...`);
    src = await fetchTfliteFile(src, { sha256: opts.sha256 });
  }
  if (!opts.force) {
    try {
      const have = await loadBackbone(dir);
      if (have.manifest.source.sha256 === sha256(readFileSync(src))) {
        console.log(`${dir}: imagenet backbone already converted from ${src}`);
        return;
      }
    } catch {
      // missing or from another file: convert
    }
  }
  await convertCommand(src, { out: dir, sha256: opts.sha256 });
}

/** Convert the default backbone from the npm package, unless it is already converted from the same source. */
export async function installCommand(opts: { force?: boolean; name?: string; from?: string; sha256?: string }): Promise<void> {
  if (opts.name === 'imagenet') return installImagenet(opts);
  if (opts.name && opts.name !== 'face') throw new Error(`weights install knows "face" and "imagenet", not "${opts.name}"; convert other models with \`facegpu weights convert\``);
  if (opts.from) throw new Error('--from is for `weights install imagenet`; the face backbone comes from @vladmandic/human');
  const dir = defaultBackboneDir();
  if (!opts.force && (await defaultBackboneUpToDate(dir))) {
    const { manifest } = await loadBackbone(dir);
    console.log(`${dir}: default backbone already converted (source sha256 ${manifest.source.sha256.slice(0, 16)}...)`);
    return;
  }
  await convertCommand(defaultBackboneSource(), { out: dir, input: 'raw' });
}

/** `weights info`: a converted backbone, as text, or with `json` as one line of JSON (the manifest, each layer as one string). */
export async function infoCommand(backbone: string, opts: { json?: boolean } = {}): Promise<void> {
  const dir = resolveBackboneDir(backbone);
  // A trained model's folder is not a backbone: named as what it is, with its backbone (a
  // remedy to convert one into it, which would be refused, was given).
  if (existsSync(join(dir, META_FILE))) {
    const b = heldModelBackbone(dir);
    throw new Error(`${dir}: a trained model (${META_FILE}), not a backbone${b ? `; it was trained on backbone "${b.id}"${b.path ? ` (${b.path})` : ''}: ${facegpuCommand('weights info', [b.path ?? b.id])}` : ''}`);
  }
  const { manifest: m } = await loadBackbone(dir);
  if (opts.json) {
    const layers = m.layers.map((l) => `${l.name} ${l.kind} s${l.stride} ${l.inChannels}->${l.outChannels} ${l.activation}`);
    process.stdout.write(JSON.stringify({ ...m, layers }) + '\n');
    return;
  }
  const src = m.source as Partial<TfliteSource> & BackboneManifest['source'];
  console.log(`${m.id} (${dir}): MobileNet V1 alpha ${m.alpha} at ${m.inputSize}, ${m.layers.length} conv layers, ${m.outputDim}-d descriptor from ${src.output}, input ${m.preprocess.range}`);
  console.log(`source: ${src.format} ${src.file}, sha256 ${src.sha256}`);
  if (src.quantization) console.log(`quantization: ${src.quantization.summary}`);
  if (src.after?.length) console.log(`not converted (after the pool): ${src.after.join(', ')}`);
  if (src.note) console.log(`note: ${src.note}`);
  console.log(`weights: ${join(dir, m.weightsFile)}, ${(m.weightsBytes / 1e6).toFixed(1)} MB, sha256 ${m.weightsSha256}`);
  console.log(`layers:`);
  const rows = m.layers.map((l) => [l.name, l.kind, `s${l.stride}`, `${l.inChannels}->${l.outChannels}`, l.activation]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(`  ${r.map((x, c) => (c < r.length - 1 ? x.padEnd(widths[c]) : x)).join('  ')}`);
}
