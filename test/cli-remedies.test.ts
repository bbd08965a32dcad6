// The library words a remedy in its own terms (options, functions, files); the CLI words the
// same remedy with its flags and commands (src/cli/remedies.ts). Thrown where the library
// throws them: the library's message names no flag or command, the CLI's does, and a user of
// the command still reads which flag or command to use. No GPU.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { findBackbone } from '../src/backbones.ts';
import { CLI_REMEDIES, cliMessage } from '../src/cli/remedies.ts';
import { RemedyError, type RemedyHint } from '../src/remedy.ts';
import { checkBackbone, type FaceModelMeta } from '../src/train/model-format.ts';
import { readModelMeta } from '../src/train/model-dir-node.ts';
import type { BackboneManifest } from '../src/weights/format.ts';
import { loadBackbone } from '../src/weights/store.ts';
import { cliCommands, cliNameIn } from './helpers/cli-names.ts';
import { notModels } from './helpers/not-models.ts';
import { facegpu } from './helpers/train-data.ts';

const tmp = mkdtempSync(join(tmpdir(), 'facegpu-remedies-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const commands = cliCommands();

/** What a RemedyError thrown by `f` says to a library caller and to a CLI user. */
async function both(f: () => unknown): Promise<{ hint: RemedyHint; library: string; cli: string }> {
  try {
    await f();
  } catch (err) {
    expect(err).toBeInstanceOf(RemedyError);
    return { hint: (err as RemedyError).hint, library: (err as Error).message, cli: cliMessage(err) };
  }
  throw new Error('did not throw');
}

describe('remedies: the library in its terms, the CLI with its flags', () => {
  it('every case has a CLI remedy that names a flag or a command', () => {
    const samples: RemedyHint[] = [
      { case: 'no-gallery', dir: 'g' },
      { case: 'no-person', dir: 'g' },
      { case: 'no-cluster', dir: 'g' },
      { case: 'nobody-named', dir: 'g' },
      { case: 'no-face', dir: 'g' },
      { case: 'no-photo', dir: 'g', person: 'Ann Lee' },
      { case: 'no-model', dir: 'm' },
      { case: 'not-a-model', dir: 'm', holds: 'gallery' },
      { case: 'no-backbone', dir: 'b' },
      { case: 'backbone-not-found' },
      { case: 'other-backbone', id: 'face' },
      { case: 'no-reference' },
      { case: 'tuning-damaged' },
      { case: 'small-faces', below: 375 },
      { case: 'empty-tree', root: 'p', gallery: 'g' },
    ];
    expect(samples.map((h) => h.case).sort()).toEqual(Object.keys(CLI_REMEDIES).sort());
    for (const hint of samples) {
      const err = new RemedyError('the problem', ' (the library remedy)', hint);
      expect(err.message).toBe('the problem (the library remedy)');
      const cli = cliMessage(err);
      expect(cli.startsWith('the problem')).toBe(true);
      expect(cliNameIn(cli, commands), cli).not.toBeNull();
    }
    expect(cliMessage(new Error('plain'))).toBe('plain');
    // Paths in the commands told are words a shell reads back (a gallery named "my gal ü'"
    // printed raw could not be pasted).
    const odd = "/tmp/my gal ü'";
    for (const hint of [{ case: 'no-gallery', dir: odd }, { case: 'no-person', dir: odd }, { case: 'no-cluster', dir: odd }, { case: 'nobody-named', dir: odd }, { case: 'no-face', dir: odd }, { case: 'no-photo', dir: odd, person: 'Ann' }, { case: 'empty-tree', root: odd, gallery: odd }] as RemedyHint[]) {
      const cli = cliMessage(new RemedyError('p', ' (r)', hint));
      expect(cli, cli).toContain(`'/tmp/my gal ü'\\''`);
      expect(cli, cli).not.toMatch(/[^']\/tmp\/my gal/);
    }
  });

  it('a missing model directory', async () => {
    const dir = join(tmp, 'no-model');
    const r = await both(() => readModelMeta(dir));
    expect(r.hint).toEqual({ case: 'no-model', dir });
    expect(r.library).toBe(`${dir}: model directory does not exist (train one with train(data, engine, { out }))`);
    expect(r.cli).toBe(`${dir}: model directory does not exist (train one with \`facegpu train <data> --out ${dir}\`)`);
  });

  it('a file, a gallery, a data folder given as the model', async () => {
    const { file, gallery, data } = notModels(tmp);
    const told: string[] = [];
    for (const [dir, holds] of [[file, 'file'], [gallery, 'gallery'], [data, 'folder']] as const) {
      const r = await both(() => readModelMeta(dir));
      expect(r.hint).toEqual({ case: 'not-a-model', dir, holds });
      expect(cliNameIn(r.library, commands), r.library).toBeNull();
      told.push(r.library, r.cli);
    }
    expect(told).toEqual([
      `${file}: a file, not a model folder (train(data, engine, { out }) writes one)`,
      `${file}: a file, not a model folder (facegpu train <data> --out <folder> writes one)`,
      `${gallery}: a gallery, not a model folder: identify photos against it (openFaceGallery)`,
      `${gallery}: a gallery, not a model folder: use facegpu identify ${gallery} <photos>`,
      `${data}: not a model folder (no facegpu.json; train(data, engine, { out }) writes one)`,
      `${data}: not a model folder (no facegpu.json; facegpu train <data> --out <folder> writes one)`,
    ]);
  });

  it('a folder without a converted backbone', async () => {
    const dir = join(tmp, 'no-backbone');
    const r = await both(() => loadBackbone(dir));
    expect(cliNameIn(r.library, commands)).toBeNull();
    expect(r.library).toMatch(/no converted backbone here; convert one into this folder \(convertTfjsModel and saveBackbone/);
    expect(r.cli).toBe(`${join(dir, 'manifest.json')}: no converted backbone here; run \`facegpu weights install\` (the face backbone; \`facegpu weights install imagenet\` for ImageNet's) or convert a model into it: \`facegpu weights convert <model.json> --out ${dir}\``);
  });

  it("a model's backbone that is nowhere, and a model met by another backbone", async () => {
    const missing = await both(() => findBackbone({ id: 'gone', weightsSha256: 'f'.repeat(64) }, 'model-x'));
    expect(cliNameIn(missing.library, commands)).toBeNull();
    expect(missing.library).toMatch(/^model-x: the backbone this model was trained on \("gone", weights sha256 ffffffffffff…\) is not in .*; open the engine on its folder \(openEngine's backbone\)$/);
    expect(missing.cli).toMatch(/^model-x: the backbone this model was trained on .* nor anywhere under .*; pass its folder with --backbone <dir>$/);

    const meta = { backbone: { id: 'face', weightsSha256: 'a'.repeat(64), outputDim: 1024, inputSize: 224 } } as FaceModelMeta;
    const other = await both(() => checkBackbone(meta, { id: 'imagenet', weightsSha256: 'b'.repeat(64) } as BackboneManifest, 'model-y'));
    expect(other.hint).toEqual({ case: 'other-backbone', id: 'face' });
    expect(other.library).toMatch(/; open the engine on backbone "face" with the same weights, or train again$/);
    expect(other.cli).toMatch(/^model-y: this model was trained on backbone "face" .*, but the backbone in use is "imagenet" .*; use --backbone face with the same weights, or train again$/);
    // The same weights converted to read raw bytes: told apart by the scaling the model records.
    const scaled = { ...meta, preprocessing: { scale: 2 / 255, offset: -1 } } as FaceModelMeta;
    const raw = await both(() => checkBackbone(scaled, { id: 'face-raw', weightsSha256: 'a'.repeat(64), preprocess: { scale: 1, offset: 0 } } as BackboneManifest, 'model-z'));
    expect(raw.hint).toEqual({ case: 'other-backbone', id: 'face' });
    expect(raw.cli).toMatch(/^model-z: this model was trained on backbone "face" reading its input as byte x 0\.00784\d* \+ -1, but the backbone in use, "face-raw", has the same weights converted to read it as byte x 1 \+ 0; use --backbone face with the same weights, or train again$/);
    expect(() => checkBackbone(scaled, { id: 'face', weightsSha256: 'a'.repeat(64), preprocess: { scale: 2 / 255, offset: -1 } } as BackboneManifest, 'model-z')).not.toThrow();
  });

  it('the command names its flags and commands', async () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    await sharp({ create: { width: 8, height: 8, channels: 3, background: 'white' } }).png().toFile(join(tmp, 'x.png'));
    const model = await facegpu(['predict', join(tmp, 'nothing'), join(tmp, 'x.png')]);
    expect(model).toMatchObject({ code: 1, stdout: '' });
    expect(model.stderr.trim()).toBe(`facegpu: ${join(tmp, 'nothing')}: model directory does not exist (train one with \`facegpu train <data> --out ${join(tmp, 'nothing')}\`)`);
    const backbone = await facegpu(['weights', 'info', empty]);
    expect(backbone.code).toBe(1);
    expect(backbone.stderr).toContain(`facegpu weights convert <model.json> --out ${empty}`);
    // A tight --epsilon alone is fine: the ladder's tightest level follows it down.
    for (const args of [['cluster', empty], ['cluster', empty, '--epsilon', '0.15'], ['gallery', 'name', empty, '0', 'ann']]) {
      const r = await facegpu(args);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`facegpu: ${empty}: no photo library here (index photos first: facegpu index <photos> --gallery ${empty})`);
    }
    // The clustering's ladder is checked before the library is even looked for.
    const ladder = await facegpu(['cluster', empty, '--min-epsilon', '0.7']);
    expect(ladder.code).toBe(1);
    expect(ladder.stderr.trim()).toBe('facegpu: --min-epsilon is a cosine distance in (0, --epsilon = 0.5], got 0.7');
  });
});
