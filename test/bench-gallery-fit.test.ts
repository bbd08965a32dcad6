// `facegpu bench gallery --fit <gallery>` (bench/README.md, "A million faces"): the descriptor
// model fitted to a gallery's named people (bench/gallery-fit.ts) instead of the shipped one.
// The gallery is made through the gallery's own store (Gallery.addFaces, saveGallery) from
// seeded synthetic descriptors, no GPU: people whose faces agree more (genuine cosine about
// 0.8) and who share a common component (impostor cosine about 0.2) than the shipped model's
// (0.66 and 0.04), so faces drawn from one model or the other are told apart by their pairs.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawnCacheFile, readDrawn } from '../bench/drawn-cache.ts';
import { fitGalleryModel, galleryFacesForFit } from '../bench/gallery-fit.ts';
import { pairStats, type PairStats } from '../bench/pair-stats.ts';
import { flatIndexProvider } from '../src/gallery/flat-index.ts';
import { Gallery } from '../src/gallery/gallery.ts';
import { loadGallery, saveGallery } from '../src/gallery/store-node.ts';
import { rowOf, syntheticFaces } from '../src/gallery/synthetic.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'facegpu.js');
const SHIPPED = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'calibration', 'face.faces-model.json'), 'utf8')) as { check: { realTenPerPerson: PairStats } };
const dim = 1024;
const tmp = mkdtempSync(join(tmpdir(), 'facegpu-bench-fit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A gallery of `people` people with `perPerson` faces each (and one person seen once), saved at dir. */
async function makeGallery(dir: string, people: number, perPerson: number): Promise<void> {
  const s = syntheticFaces({ seed: 3, dim, people, perPerson, noise: 0.5, common: 0.5 });
  const g = Gallery.create({ backbone: { id: 'face', sha256: 'f'.repeat(64) }, preprocessing: {}, normalisation: { method: 'mean-l2', mean: Array.from({ length: dim }, (_, j) => (j % 7) / 200), source: 'a test mean' }, dim, index: flatIndexProvider });
  for (let p = 0; p < people; p++) {
    g.addFaces(`person ${p}`, Array.from({ length: perPerson }, (_, f) => ({ file: `photos/${p}/${f}.jpg`, box: [0, 0, 100, 100] as [number, number, number, number], score: 0.9, descriptor: rowOf(s.descriptors, dim, p * perPerson + f) })));
  }
  const once = syntheticFaces({ seed: 3, dim, people: 1, perPerson: 1, noise: 0.5, common: 0.5, firstPerson: people });
  g.addFaces('seen once', [{ file: 'photos/once.jpg', box: [0, 0, 100, 100], score: 0.9, descriptor: once.descriptors }]);
  await saveGallery(dir, g);
}

const failure = (args: string[]) => run('node', [CLI, 'bench', 'gallery', ...args], { timeout: 60_000 }).then(() => null, (e) => e as { code: number; stderr: string });

describe('bench gallery --fit', () => {
  const gallery = join(tmp, 'people');
  const cache = join(tmp, 'cache');
  let stored: PairStats;
  beforeAll(async () => {
    await makeGallery(gallery, 20, 5);
    // The gallery's faces as stored (normalised once, by the gallery), the fitted person's only.
    const g = await loadGallery(gallery, { onNotice: () => {} });
    const x = g.toFiles().descriptors.subarray(0, 100 * dim);
    stored = pairStats(x, dim, Array.from({ length: 100 }, (_, i) => Math.floor(i / 5)));
  });

  it('draws the faces from the model fitted to the gallery, and never from a cache of another model', async () => {
    // The premise: this gallery's faces pair unlike the shipped model's.
    const shipped = SHIPPED.check.realTenPerPerson;
    expect(stored.genuineMean - shipped.genuineMean).toBeGreaterThan(0.1);
    expect(stored.impostorMean - shipped.impostorMean).toBeGreaterThan(0.1);

    const args = ['--faces', '1000', '--queries', '50', '--exact-timed', '2', '--cache', cache, '--json'];
    // The shipped model's faces first, into the same cache, with the same seed and sizes.
    const first = JSON.parse((await run('node', [CLI, 'bench', 'gallery', ...args], { timeout: 120_000, maxBuffer: 16 << 20 })).stdout);
    expect(first.fittedFrom).toBeUndefined();
    expect(first.model).toMatch(/calibration\/face\.faces-model\.json$/);
    const { stdout, stderr } = await run('node', [CLI, 'bench', 'gallery', ...args, '--fit', gallery], { timeout: 120_000, maxBuffer: 16 << 20 });
    const r = JSON.parse(stdout);
    expect(stderr).toMatch(/fitted the descriptor model to 100 faces of 20 people of /);
    expect(r.model).toBe(`fitted to the gallery ${gallery}`);
    expect(r.fittedFrom).toEqual({ gallery, backbone: 'face', normalisation: 'mean-l2 (mean of a test mean)', galleryPeople: 21, galleryFaces: 101, people: 20, faces: 100, kBetween: 16, kWithin: 32 });
    expect(r.vectors).toContain(`100 faces of 20 named people of the gallery ${gallery}`);
    expect(r.faces).toBe(1000);
    expect(r.dims).toBe(dim);
    // Not the shipped model's faces read back: drawn anew, into a second file.
    expect(r.drawnFromCache).toBe(false);
    const files = readdirSync(cache).filter((f) => f.endsWith('.bin'));
    expect(files).toHaveLength(2);

    // The drawn faces pair like the gallery's, not like the shipped model's.
    const fit = fitGalleryModel(await galleryFacesForFit(gallery));
    const file = drawnCacheFile(cache, fit.text, 1, 1000, 50);
    expect(files).toContain(file.slice(cache.length + 1));
    const drawn = readDrawn(file, dim, 1000, 50)!;
    const n = 600;
    const synth = pairStats(drawn.vectors.subarray(0, n * dim), dim, drawn.person.subarray(0, n));
    expect(Math.abs(synth.genuineMean - stored.genuineMean)).toBeLessThan(0.05);
    expect(Math.abs(synth.impostorMean - stored.impostorMean)).toBeLessThan(0.05);
    expect(Math.abs(synth.genuineMean - shipped.genuineMean)).toBeGreaterThan(0.1);

    // The same gallery fits the same model (its cache is reused); another gallery another one.
    const again = JSON.parse((await run('node', [CLI, 'bench', 'gallery', ...args, '--fit', gallery], { timeout: 120_000, maxBuffer: 16 << 20 })).stdout);
    expect(again.drawnFromCache).toBe(true);
    expect(again.identities).toBe(r.identities);
    const other = join(tmp, 'more');
    await makeGallery(other, 20, 6);
    const more = fitGalleryModel(await galleryFacesForFit(other));
    expect(more.fittedFrom.faces).toBe(120);
    expect(drawnCacheFile(cache, more.text, 1, 1000, 50)).not.toBe(file);
  }, 120_000);

  it('uses the faces as stored, at most maxFaces of them, spread over the people', async () => {
    const f = await galleryFacesForFit(gallery, { kBetween: 16, kWithin: 32, maxFaces: 60 });
    // 20 people, 3 faces each (4 would be 80): every person kept, their faces thinned evenly.
    expect(f.source.people).toBe(20);
    expect(f.source.faces).toBe(60);
    expect(Array.from(f.person.subarray(0, 6))).toEqual([0, 0, 0, 1, 1, 1]);
    const g = await loadGallery(gallery, { onNotice: () => {} });
    const x = g.toFiles().descriptors;
    // Person 0's faces 0, 1 and 3 (of 5), the stored rows themselves (not normalised again: a
    // second mean-l2 would take the mean off twice).
    expect(f.x.subarray(0, dim)).toEqual(x.subarray(0, dim));
    expect(f.x.subarray(2 * dim, 3 * dim)).toEqual(x.subarray(3 * dim, 4 * dim));
    // Fewer people than 2 faces each would allow: people dropped evenly, 2 faces each.
    const few = await galleryFacesForFit(gallery, { kBetween: 4, kWithin: 4, maxFaces: 30 });
    expect(few.source.people).toBe(15);
    expect(few.source.faces).toBe(30);
  });

  it('refuses a missing folder, a folder that is not a gallery, and too few people or faces, in one line before any work', async () => {
    const missing = await failure(['--fit', join(tmp, 'nobody'), '--faces', '1000']);
    expect(missing?.code).not.toBe(0);
    expect(missing?.stderr.trim()).toBe(`facegpu: --fit: ${join(tmp, 'nobody')}: no gallery here (the folder does not exist): enroll people first`);
    const photos = join(tmp, 'photos');
    mkdirSync(photos);
    writeFileSync(join(photos, 'a.jpg'), 'not a photo');
    await expect(galleryFacesForFit(photos)).rejects.toThrow(`${photos}: not a facegpu gallery (no gallery.json)`);
    await expect(galleryFacesForFit(join(photos, 'a.jpg'))).rejects.toThrow(`${join(photos, 'a.jpg')}: cannot be used as a gallery (it is a file)`);
    const small = join(tmp, 'small');
    await makeGallery(small, 17, 5);
    const few = await failure(['--fit', small]);
    expect(few?.stderr.trim().split('\n')).toHaveLength(1);
    expect(few?.stderr.trim()).toBe(
      `facegpu: --fit: ${small}: 17 of its 18 named people have 2 or more faces (85 faces to fit); fitting the descriptor model needs at least 18 such people (16 directions between people + 2) and 33 more faces than people (32 directions within a person + 1)`,
    );
    const thin = join(tmp, 'thin');
    await makeGallery(thin, 30, 2);
    await expect(galleryFacesForFit(thin)).rejects.toThrow(`${thin}: 30 of its 31 named people have 2 or more faces (60 faces to fit); fitting the descriptor model needs at least 18 such people`);
    const both = await failure(['--fit', gallery, '--model', 'calibration/face.faces-model.json']);
    expect(both?.stderr.trim()).toBe("facegpu: error: option '--fit <gallery>' cannot be used with option '--model <file>'");
  }, 60_000);
});
