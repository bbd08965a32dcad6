// Open-set identity through the CLI, as a user runs it: enroll, identify, verify, gallery
// stats/list/remove, and the trained head's per-face predictions. The figures asserted are
// the issue's acceptance bars on the shared data sets.
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CELEB, ORL } from './helpers/faces.ts';
import { writeFarPhoto, writeGroupPhoto } from './helpers/group-photo.ts';
import { colourOf } from '../src/faces/annotate-node.ts';
import { expandImages } from '../src/cli/predict.ts';
import { pairLine, readPairs } from '../src/cli/verify.ts';
import { loadImageRaw } from '../src/image/decode.ts';

const exec = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'facegpu.js');
const cli = (args: string[]) => exec('node', [CLI, ...args], { timeout: 600_000, maxBuffer: 64 << 20 });
/** A run expected to fail: its exit code and stderr. */
async function failing(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  try {
    const { stdout, stderr } = await cli(args);
    return { code: 0, stderr, stdout };
  } catch (err) {
    const e = err as { code: number; stderr: string; stdout: string };
    return { code: e.code, stderr: e.stderr, stdout: e.stdout };
  }
}

interface FaceJson { box: number[]; score: number; label: string | null; similarity: number; threshold: number; candidates: { label: string; similarity: number }[] }
type FileJson = { file: string; faces: FaceJson[] } | { file: string; error: string };

type ThresholdJson = { threshold: number; source: string; tar: number | null };
/**
 * `gallery stats --json`'s "thresholds", checked for its shape: verify and identify, each at
 * FAR 0.01 and 0.001, each exactly {threshold, source, tar}, source one of those
 * Gallery.thresholdFor gives, tar a share or null (no genuine pairs). By "kind far".
 */
function thresholdsOf(stats: { thresholds: Record<string, Record<string, ThresholdJson | null>> }): Record<string, ThresholdJson> {
  expect(Object.keys(stats.thresholds).sort()).toEqual(['identify', 'verify']);
  const out: Record<string, ThresholdJson> = {};
  for (const kind of ['verify', 'identify']) {
    expect(Object.keys(stats.thresholds[kind]).sort(), kind).toEqual(['0.001', '0.01']);
    for (const far of ['0.01', '0.001']) {
      const at = `${kind} ${far}`;
      const t = stats.thresholds[kind][far];
      if (t === null) throw new Error(`thresholds.${kind}['${far}'] is null: no calibration`);
      expect(Object.keys(t).sort(), at).toEqual(['source', 'tar', 'threshold']);
      expect(['gallery', 'default', 'gallery+default'], at).toContain(t.source);
      expect(typeof t.threshold, at).toBe('number');
      expect(Math.abs(t.threshold), at).toBeLessThanOrEqual(1); // a cosine similarity
      if (t.tar !== null) {
        expect(typeof t.tar, at).toBe('number');
        expect(t.tar, at).toBeGreaterThanOrEqual(0);
        expect(t.tar, at).toBeLessThanOrEqual(1);
      }
      out[at] = t;
    }
  }
  return out;
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-identify-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** ORL photos by number: 1.pgm .. 10.pgm. */
const orl = (person: number, photo: number) => join(ORL, `s${person}`, `${photo}.pgm`);

/** `dir`/s<p>/1.pgm for each person p: a link to their first ORL photo. */
function firstPhotos(dir: string, people: number[]): string {
  for (const p of people) {
    mkdirSync(join(dir, `s${p}`), { recursive: true });
    symlinkSync(orl(p, 1), join(dir, `s${p}`, '1.pgm'));
  }
  return dir;
}

describe('ORL open set: s1-s20 enrolled from 5 photos each, strangers s21-s40', () => {
  let gallery: string;
  let results: FileJson[];
  beforeAll(async () => {
    gallery = join(tmp, 'orl-gallery');
    const data = join(tmp, 'orl-enroll');
    for (let p = 1; p <= 20; p++) {
      mkdirSync(join(data, `s${p}`), { recursive: true });
      for (let k = 1; k <= 5; k++) symlinkSync(orl(p, k), join(data, `s${p}`, `${k}.pgm`));
    }
    await cli(['enroll', gallery, data]);
    const probes: string[] = [];
    for (let p = 1; p <= 20; p++) for (let k = 6; k <= 10; k++) probes.push(orl(p, k));
    for (let p = 21; p <= 40; p++) for (let k = 1; k <= 10; k++) probes.push(orl(p, k));
    const { stdout, stderr } = await cli(['identify', gallery, ...probes, '--far', '0.01', '--json']);
    console.log(stderr.split('\n').filter((l) => l.includes('ms per photo') || l.includes('threshold')).join('\n'));
    // 20 people of 5 faces: about 100 identify comparisons, too few for FAR 0.01: the default's
    // threshold is a floor above the gallery's own here, and its warning says so, with the
    // remedy for a gallery.
    expect(stderr).toMatch(/--far 0\.01: threshold [\d.]+ \(backbone default calibration as a floor under the gallery's, whose \d+ impostor comparisons are too few for this rate\)\n/);
    expect(stderr).toContain("facegpu: warning: this threshold comes from the backbone's reference photos, not yours; with people it had not seen it let up to three times the rate asked through, and on web photos it names fewer of your people (calibration/README.md); enroll more people or photos for a calibration of your own\n");
    results = JSON.parse(stdout);
  });

  it('names >= 95% of the enrolled people\'s other photos correctly, and <= 2% of strangers\' photos as anyone', () => {
    expect(results).toHaveLength(300);
    let known = 0;
    let right = 0;
    let strangers = 0;
    let named = 0;
    for (const r of results) {
      if ('error' in r) throw new Error(r.error);
      const person = Number(/s(\d+)\/\d+\.pgm$/.exec(r.file)![1]);
      if (person <= 20) {
        known++;
        // The photo's face: its largest (ORL photos show one person).
        const face = [...r.faces].sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3])[0];
        if (face?.label === `s${person}`) right++;
      } else {
        strangers++;
        if (r.faces.some((f) => f.label !== null)) named++;
      }
    }
    console.log(`ORL open set: ${right}/${known} enrolled probes named right (${((100 * right) / known).toFixed(1)}%), ${named}/${strangers} stranger photos named (${((100 * named) / strangers).toFixed(1)}%)`);
    expect(known).toBe(100);
    expect(strangers).toBe(200);
    expect(right / known).toBeGreaterThanOrEqual(0.95);
    expect(named / strangers).toBeLessThanOrEqual(0.02);
  });

  it('every face has the documented JSON shape; similarity is the best candidate\'s even when unknown', () => {
    for (const r of results) {
      expect(Object.keys(r).sort()).toEqual(['faces', 'file']);
      for (const f of (r as { faces: FaceJson[] }).faces) {
        expect(Object.keys(f).sort()).toEqual(['box', 'candidates', 'label', 'score', 'similarity', 'threshold']);
        expect(f.box).toHaveLength(4);
        expect(f.candidates.length).toBeGreaterThan(0);
        expect(f.similarity).toBe(f.candidates[0].similarity);
        // Named exactly when the best candidate reaches the threshold it gives.
        expect(f.label !== null, JSON.stringify(f)).toBe(f.similarity >= f.threshold);
        if (f.label !== null) expect(f.label).toBe(f.candidates[0].label);
      }
    }
    expect(results.some((r) => 'faces' in r && r.faces.some((f) => f.label === null))).toBe(true);
  });

  it('--min-face: a group photo of 12 enrolled people, 120 pixels wide each in 4000x3000, gives all 12, named; without it, few faces', async () => {
    const photo = join(tmp, 'group.png');
    const { placeOf } = await writeGroupPhoto(photo, 120, 6);
    const facesOf = async (extra: string[]) => (JSON.parse((await cli(['identify', gallery, photo, '--json', ...extra])).stdout) as { faces: FaceJson[] }[])[0].faces;
    expect((await facesOf([])).length).toBeLessThan(3);
    const drawn = join(tmp, 'drawn');
    const found = await facesOf(['--min-face', '80', '--annotate', drawn]);
    expect(found.map((f) => placeOf(f.box)).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const named = found.filter((f) => f.label === `s${placeOf(f.box) + 1}`).length;
    console.log(`--min-face 80: ${found.length} faces, ${named} named right`);
    expect(named).toBeGreaterThanOrEqual(11);
    // --annotate: the photo as a JPEG of its size, each face's box drawn in its person's colour
    // (read at the middle of the box's left edge, where the photo itself has the portrait).
    expect(readdirSync(drawn)).toEqual(['group.png.jpg']);
    const { data, info } = await sharp(join(drawn, 'group.png.jpg')).raw().toBuffer({ resolveWithObject: true });
    const original = await sharp(photo).removeAlpha().raw().toBuffer();
    expect([info.width, info.height, info.channels]).toEqual([4000, 3000, 3]);
    const hex = (p: Uint8Array | Buffer, at: number) => [p[at], p[at + 1], p[at + 2]];
    for (const f of found) {
      const at = (Math.round(f.box[1] + f.box[3] / 2) * 4000 + Math.round(f.box[0])) * 3;
      const want = colourOf(f.label).match(/[0-9a-f]{2}/g)!.map((h) => parseInt(h, 16));
      const near = (p: number[]) => p.every((v, c) => Math.abs(v - want[c]) < 48);
      expect(near(hex(data, at)), `${f.label} at [${f.box}]: drawn ${hex(data, at)}, colour ${want}`).toBe(true);
      expect(near(hex(original, at)), `${f.label}: the photo itself is not that colour there`).toBe(false);
    }
  });

  it('--min-face on enroll and verify: a face 150 pixels wide in 4000x3000 is not found without it, and the flag is named; with it, enrolled and verified', async () => {
    const far = join(tmp, 'far.png');
    await writeFarPhoto(far, 1, 6, 150);
    const told = 'no face found (in a photo this big, faces under ~375 pixels wide are looked for only with --min-face <pixels>, which is slower)';
    const people = join(tmp, 'far-people');
    // A small photo without a face found is not told of the flag: its whole view finds faces of any size worth looking for.
    const blank = join(tmp, 'blank.png');
    await sharp({ create: { width: 300, height: 300, channels: 3, background: { r: 118, g: 112, b: 104 } } }).png().toFile(blank);
    const without = JSON.parse((await cli(['enroll', people, '--person', 's1', far, blank, orl(1, 1), '--json'])).stdout);
    expect(without).toEqual([{ person: 's1', added: 1, skipped: [{ file: far, reason: told, missedBelow: 375 }, { file: blank, reason: 'no face found' }] }]);
    expect(JSON.parse((await cli(['enroll', people, '--person', 's1', far, '--min-face', '80', '--json'])).stdout)).toEqual([{ person: 's1', added: 1, skipped: [] }]);
    // identify answers faces [] for it, and says once why, naming the flag; not for the small photo.
    const idle = await cli(['identify', people, far, blank, '--json']);
    expect(JSON.parse(idle.stdout).map((r: { faces: FaceJson[] }) => r.faces)).toEqual([[], []]);
    expect(idle.stderr).toContain(`facegpu: no face found in 1 photo big enough that faces under ~375 pixels wide were not looked for (${far}); --min-face <pixels> looks for them, slower`);

    const missed = await failing(['verify', far, orl(1, 7), '--json']);
    expect(missed.code).toBe(2);
    expect(JSON.parse(missed.stdout)).toEqual({ a: far, b: orl(1, 7), error: `${far}: ${told}` });
    expect(missed.stderr).toContain(`facegpu: warning: ${far}: ${told}`);
    const same = JSON.parse((await cli(['verify', far, orl(1, 7), '--min-face', '80', '--json'])).stdout);
    const other = JSON.parse((await cli(['verify', far, orl(2, 7), '--min-face', '80', '--json'])).stdout);
    console.log(`--min-face 80, verify: s1 far off against s1 ${same.similarity}, against s2 ${other.similarity} (threshold ${same.threshold})`);
    expect([same.same, other.same]).toEqual([true, false]);
    expect((await failing(['verify', far, orl(1, 7), '--min-face', '20'])).stderr.trim()).toBe('facegpu: --min-face must be 0 (the whole photo only) or a whole number of pixels from 24, got 20');
  });

  it('gallery stats and list report the people, photos, and TAR with the pairs behind them', async () => {
    const { stdout } = await cli(['gallery', 'stats', gallery, '--json']);
    const s = JSON.parse(stdout);
    expect(s.people).toBe(20);
    expect(s.photos).toBeGreaterThanOrEqual(95);
    expect(s.faces).toBe(s.photos);
    expect(s.verify.impostorPairs).toBeGreaterThan(1000);
    expect(s.verify.tarAtFar1e2).toBeGreaterThan(0.8);
    expect(s.identify.genuinePairs).toBe(s.faces);
    // The thresholds verify and identify use: the gallery's own where its impostor pairs
    // support the FAR (verify's face pairs at 1e-2), else its own or the backbone default's
    // floor, whichever is higher (never the default alone: 20 people); stricter at 1e-3, so no
    // higher a TAR; a TAR each, the gallery having genuine pairs of both kinds.
    const t = thresholdsOf(s);
    expect(t['verify 0.01'].source).toBe('gallery');
    for (const kind of ['verify', 'identify']) {
      const [lax, strict] = [t[`${kind} 0.01`], t[`${kind} 0.001`]];
      for (const x of [lax, strict]) expect(['gallery', 'gallery+default'], kind).toContain(x.source);
      expect(strict.threshold, kind).toBeGreaterThanOrEqual(lax.threshold);
      expect([typeof lax.tar, typeof strict.tar], kind).toEqual(['number', 'number']);
      expect(strict.tar!, kind).toBeLessThanOrEqual(lax.tar!);
    }
    const { stderr } = await cli(['gallery', 'stats', gallery]);
    expect(stderr).toMatch(/too few|do not support/); // FAR 1e-3 on this little gallery
    const list = JSON.parse((await cli(['gallery', 'list', gallery, '--json'])).stdout);
    expect(list.map((p: { name: string }) => p.name).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `s${i + 1}`).sort());
  });
});

describe('5-celebrity-faces: enroll train/, identify val/', () => {
  let gallery: string;
  beforeAll(async () => {
    gallery = join(tmp, 'celeb-gallery');
    await cli(['enroll', gallery, join(CELEB, 'train')]);
  });

  it('every val/ face is most like its own person, and --far 0.01 names all but a few and none wrong', async () => {
    const { stdout } = await cli(['identify', gallery, join(CELEB, 'val'), '--json']);
    const results: FileJson[] = JSON.parse(stdout);
    expect(results.length).toBe(25);
    const faces = results.map((r) => ('faces' in r && r.faces.length === 1 ? { who: r.file.split('/').at(-2), face: r.faces[0] } : { who: r.file, face: null }));
    expect(faces.filter((f) => f.face === null).map((f) => f.who)).toEqual([]);
    // The best candidate: the pipeline (detection, framing, descriptors, templates).
    expect(faces.filter((f) => f.face!.candidates[0].label !== f.who).map((f) => f.who)).toEqual([]);
    // The threshold: never a wrong name. It is the backbone default's floor here (5 people,
    // 90 impostor comparisons), made mostly of ORL's studio portraits, whose strangers look
    // more alike than web photos' do: it leaves unnamed 12% of the gallery's own photos
    // (gallery stats), and 2 of these 25 (similarities 0.383 and 0.385 against 0.392).
    expect(faces.filter((f) => f.face!.label !== null && f.face!.label !== f.who).map((f) => f.who)).toEqual([]);
    expect(faces.filter((f) => f.face!.label === f.who).length).toBeGreaterThanOrEqual(22);
  });

  it('two val/ faces of different people side by side: two faces, both named; a photo without a face: faces []', async () => {
    const people = readdirSync(join(CELEB, 'val')).sort();
    const [a, b] = [people[0], people[1]].map((p) => join(CELEB, 'val', p, readdirSync(join(CELEB, 'val', p)).sort()[0]));
    const tiles = await Promise.all([a, b].map((f) => sharp(f).rotate().resize(400, 400, { fit: 'contain', background: '#808080' }).png().toBuffer()));
    const pair = join(tmp, 'pair.png');
    await sharp({ create: { width: 800, height: 400, channels: 3, background: '#808080' } })
      .composite([{ input: tiles[0], left: 0, top: 0 }, { input: tiles[1], left: 400, top: 0 }])
      .png()
      .toFile(pair);
    const grey = join(tmp, 'grey.png');
    await sharp({ create: { width: 320, height: 240, channels: 3, background: '#7a7a7a' } }).png().toFile(grey);
    const { stdout } = await cli(['identify', gallery, pair, grey, '--json']);
    const [p, g] = JSON.parse(stdout) as { file: string; faces: FaceJson[] }[];
    const byX = [...p.faces].sort((x, y) => x.box[0] - y.box[0]);
    expect(byX.map((f) => f.label)).toEqual([people[0], people[1]]);
    expect(byX[0].box[0] + byX[0].box[2]).toBeLessThanOrEqual(420);
    expect(byX[1].box[0]).toBeGreaterThanOrEqual(380);
    expect(g).toEqual({ file: grey, faces: [] });
    // Enrolled, the photo of two is skipped, the reason naming the flag that takes the largest.
    const two = join(tmp, 'two-faces');
    // Nothing enrolled, a photo skipped for its faces: exit status 2.
    const skipped = await failing(['enroll', two, pair, '--person', 'x', '--json']);
    expect(skipped.code).toBe(2);
    const remedy = '2 faces found; enroll photos of one face, or give --largest to take the largest';
    expect(skipped.stderr).toContain(`facegpu: warning: skipped ${pair}: ${remedy}\n`);
    expect(JSON.parse(skipped.stdout)).toEqual([{ person: 'x', added: 0, skipped: [{ file: pair, reason: remedy, faces: 2 }] }]);
    const largest = await cli(['enroll', two, pair, '--person', 'x', '--largest', '--json']);
    expect(JSON.parse(largest.stdout)).toEqual([{ person: 'x', added: 1, skipped: [] }]);
  });

  it("three val/ photos of Ben Affleck enrolled as a second name: enroll says the two may be one person, with the merge, not each photo's removal", async () => {
    const g = join(tmp, 'celeb-ben2');
    cpSync(gallery, g, { recursive: true });
    const ben = readdirSync(join(CELEB, 'val', 'ben_afflek')).sort().slice(0, 3).map((f) => join(CELEB, 'val', 'ben_afflek', f));
    const { stdout, stderr } = await cli(['enroll', g, '--person', 'ben2', ...ben, '--json']);
    const [r] = JSON.parse(stdout);
    expect(r.lookalikes).toBeUndefined();
    expect(r.sameAs).toHaveLength(1);
    // The JSON shape enroll --help spells out: {"person", "similarity", "one": {"because", "similarity"}, "into"}.
    expect(Object.keys(r.sameAs[0]).sort()).toEqual(['into', 'one', 'person', 'similarity']);
    expect(Object.keys(r.sameAs[0].one).sort()).toEqual(['because', 'similarity']);
    expect(r.sameAs[0]).toMatchObject({ person: 'ben_afflek', into: 'ben_afflek' });
    // Every one of the three is more like ben_afflek than like the other two (measured: the
    // merge `all`), so no photo of them is warned of as the wrong one.
    expect(r.sameAs[0].one).toEqual({ because: 'all', similarity: null });
    expect(stderr).toContain(`facegpu: warning: "ben2" may be one person with "ben_afflek" (templates `);
    expect(stderr).toContain(`: two names for one person? If so, merge them with facegpu gallery rename ${g} ben2 ben_afflek\n`);
    expect(stderr).not.toContain('looks like "ben_afflek"');
  });

  it('verify: same person and different people, one pair and --pairs, each photo embedded once', async () => {
    const ben = readdirSync(join(CELEB, 'val', 'ben_afflek')).sort().map((f) => join(CELEB, 'val', 'ben_afflek', f));
    const elton = readdirSync(join(CELEB, 'val', 'elton_john')).sort().map((f) => join(CELEB, 'val', 'elton_john', f));
    const first = await cli(['verify', ben[0], ben[1], '--json']);
    const one = JSON.parse(first.stdout);
    expect(Object.keys(one).sort()).toEqual(['a', 'b', 'same', 'similarity', 'threshold']);
    expect(one.same).toBe(true);
    // Which threshold, from whose calibration; a FAR its comparisons cannot support is warned of.
    expect(first.stderr).toContain(`facegpu: --far 0.01: threshold ${one.threshold.toFixed(3)} (backbone default calibration, `);
    // A default made on other people's photos is said to be one, with what to do for a rate to rely on.
    expect(first.stderr).toContain("facegpu: warning: this threshold comes from the backbone's reference photos, not yours; ");
    expect(first.stderr).toContain('give --gallery <dir> of people photographed like yours\n');
    expect(first.stderr).not.toContain('too few');
    expect(first.stderr).not.toContain('faces found');
    // A photo of two faces is compared by its largest, and said so once, as given.
    const two = join(tmp, 'verify-two.png');
    const big = await sharp(ben[0]).rotate().resize(400, 400, { fit: 'contain', background: '#808080' }).png().toBuffer();
    const small = await sharp(elton[0]).rotate().resize(240, 240, { fit: 'contain', background: '#808080' }).png().toBuffer();
    await sharp({ create: { width: 700, height: 400, channels: 3, background: '#808080' } }).composite([{ input: big, left: 0, top: 0 }, { input: small, left: 440, top: 80 }]).png().toFile(two);
    const twice = await cli(['verify', two, ben[1], '--json']);
    expect(JSON.parse(twice.stdout)).toMatchObject({ same: true });
    expect(twice.stderr.split('\n').filter((l) => l.includes('faces found'))).toEqual([`facegpu: ${two}: 2 faces found; the largest compared`]);
    const rare = await cli(['verify', ben[0], ben[1], '--far', '1e-7']);
    // The default's own comparisons too few: nothing to enroll into adds to them.
    expect(rare.stderr).toMatch(/warning: \d+ impostor comparisons are too few to support a false-accept rate of 1e-7 \(needs 100000000\): the threshold rests on fewer than 10 of them; choose a larger --far, or give --threshold\n/);
    const pairsFile = join(tmp, 'pairs', 'pairs.tsv');
    mkdirSync(join(tmp, 'pairs'));
    symlinkSync(elton[1], join(tmp, 'pairs', 'elton.jpg'));
    // A relative path is read from the pairs file's folder and answered as written; a
    // byte-order mark, an indented comment and a space after a path are not part of any path.
    writeFileSync(pairsFile, `\ufeff${ben[0]}\t${ben[2]}\n  # a comment\n${ben[0]}\t${elton[0]} \nelton.jpg\t${elton[2]}\nmissing.jpg\t${ben[2]}\n`);
    const run = await failing(['verify', '--pairs', pairsFile, '--gallery', gallery, '--json']);
    expect(run.code, run.stderr).toBe(2);
    // ben[0] and ben[2] are in two pairs each: six distinct photos, five read and described once each.
    expect(run.stderr).toContain('facegpu: 4 pairs of 6 distinct photos, 5 read and described (each once)');
    const many = JSON.parse(run.stdout);
    for (const r of many.slice(0, 3)) expect(Object.keys(r).sort()).toEqual(['a', 'b', 'same', 'similarity', 'threshold']);
    expect(many.slice(0, 3).map((r: { same: boolean }) => r.same)).toEqual([true, false, true]);
    expect(many.map((r: { a: string }) => r.a)).toEqual([ben[0], ben[0], 'elton.jpg', 'missing.jpg']);
    expect(many[3]).toEqual({ a: 'missing.jpg', b: ben[2], error: expect.stringContaining('cannot read (no such file or folder)') });
    // As text: a line per pair in the file's order, the failed pair's with --json's error.
    const text = await failing(['verify', '--pairs', pairsFile, '--gallery', gallery]);
    expect(text.code, text.stderr).toBe(2);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.split(': ')[0])).toEqual(many.map((r: { a: string; b: string }) => `${r.a}  ${r.b}`));
    expect(lines.slice(0, 3).map((l) => /: (same person|different people) \(similarity /.exec(l)?.[1])).toEqual(['same person', 'different people', 'same person']);
    expect(lines[3]).toBe(`missing.jpg  ${ben[2]}: error (${many[3].error})`);
    const bad = await failing(['verify', '--pairs', pairsFile, ben[0]]);
    expect(bad.stderr).toMatch(/not both/);
    writeFileSync(join(tmp, 'bad-pairs.tsv'), `${ben[0]} ${ben[1]}\n`);
    expect((await failing(['verify', '--pairs', join(tmp, 'bad-pairs.tsv')])).stderr).toMatch(/bad-pairs\.tsv:1: expected "pathA<TAB>pathB"/);
    // Two photos, one not there or a folder: told in one line before the GPU starts (exit 1).
    const gone = await failing(['verify', ben[0], join(tmp, 'nowhere.jpg')]);
    expect([gone.code, gone.stderr.trim()]).toEqual([1, `facegpu: ${join(tmp, 'nowhere.jpg')}: no such file or folder`]);
    const folder = await failing(['verify', tmp, ben[0]]);
    expect([folder.code, folder.stderr.trim()]).toEqual([1, `facegpu: ${tmp}: a folder; verify compares two photos (or the pairs of --pairs <file>)`]);
  });

  it('an unreadable photo is named and the others are still answered', async () => {
    const broken = join(tmp, 'broken.jpg');
    writeFileSync(broken, 'not an image');
    const good = join(CELEB, 'val', 'madonna', readdirSync(join(CELEB, 'val', 'madonna')).sort()[0]);
    const r = await failing(['identify', gallery, broken, good, '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('broken.jpg');
    const out = JSON.parse(r.stdout) as FileJson[];
    expect(out[0].file).toBe(broken);
    expect(Object.keys(out[0]).sort()).toEqual(['error', 'file']); // no "faces" for a file that cannot be read
    // The error without the file's name, which "file" holds, as embed and predict give it.
    expect('error' in out[0] && out[0].error).toBe('not an image in a supported format (JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIC, BMP, PGM/PPM/PBM)');
    expect('faces' in out[1] && out[1].faces[0].label).toBe('madonna');
  });
});

describe('verify --pairs as saved by editors and spreadsheets (no GPU)', () => {
  const pairsOf = async (name: string, text: string) => {
    const file = join(tmp, name);
    writeFileSync(file, text);
    return (await readPairs(file)).map((p) => p.given);
  };

  it('a byte-order mark, CRLF, spaces around a path and indented comments are not part of the pairs; spaces inside a name are', async () => {
    const text = '\ufeffa.pgm\tb.pgm\r\n  # indented comment\r\n\t# after a tab\r\nc.pgm \t d.pgm\t\r\nsub/with space.pgm\t/abs/e.pgm  \r\n';
    expect(await pairsOf('editor.tsv', text)).toEqual([
      ['a.pgm', 'b.pgm'],
      ['c.pgm', 'd.pgm'],
      ['sub/with space.pgm', '/abs/e.pgm'],
    ]);
    const [first] = await readPairs(join(tmp, 'editor.tsv'));
    expect(first.read).toEqual([join(tmp, 'a.pgm'), join(tmp, 'b.pgm')]);
  });

  it('a line of one path, or of three, is still an error naming the line', async () => {
    await expect(pairsOf('one.tsv', '\ufeffa.pgm\t \n')).rejects.toThrow(/one\.tsv:1: expected "pathA<TAB>pathB"/);
    await expect(pairsOf('three.tsv', '# x\na.pgm\tb.pgm\tc.pgm\n')).rejects.toThrow(/three\.tsv:2: expected "pathA<TAB>pathB"/);
    await expect(pairsOf('comments.tsv', '\ufeff# only\n  # comments\n')).rejects.toThrow(/comments\.tsv: no pairs/);
  });

  it("text output: a failed pair's line says its error, as --json does", () => {
    expect(pairLine({ a: 'x.jpg', b: 'y.jpg', error: '/p/x.jpg: cannot read (ENOENT)' })).toBe('x.jpg  y.jpg: error (/p/x.jpg: cannot read (ENOENT))');
    expect(pairLine({ a: 'x.jpg', b: 'y.jpg', similarity: 0.71234, same: true, threshold: 0.5 })).toMatch(/^x\.jpg {2}y\.jpg: same person \(similarity 0\.71\d*, threshold 0\.5\d*\)$/);
  });
});

describe('folders given to identify, enroll --person and embed: photos only (no GPU)', () => {
  it('sidecars, Thumbs.db and notes inside a folder are left out; a file named is taken whatever its name', async () => {
    const dir = join(tmp, 'with-sidecars');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    symlinkSync(orl(1, 1), join(dir, '1.pgm'));
    symlinkSync(orl(1, 2), join(dir, 'sub', 'IMG_2.JPG')); // named by upper case too (content is PGM: read by content)
    for (const f of ['1.pgm.xmp', 'Thumbs.db', 'notes.txt', 'README', join('sub', 'IMG_2.JPG.xmp')]) writeFileSync(join(dir, f), 'not a photo');
    const warnings: string[] = [];
    const named = join(dir, 'notes.txt');
    const files = await expandImages([dir, named], { onWarning: (m) => warnings.push(m) });
    expect(files).toEqual([join(dir, '1.pgm'), join(dir, 'sub', 'IMG_2.JPG'), named]);
    expect(warnings).toEqual([]);
  });
});

describe('bad input', () => {
  it('an empty gallery, a missing one and wrong flags are clear errors before any work', async () => {
    const photo = orl(1, 1);
    expect((await failing(['identify', join(tmp, 'nothing-here'), photo])).stderr).toMatch(/nothing-here: no gallery here.*enroll people first/);
    const empty = join(tmp, 'empty-gallery');
    const data = join(tmp, 'one');
    mkdirSync(join(data, 'x'), { recursive: true });
    symlinkSync(orl(1, 1), join(data, 'x', '1.pgm'));
    await cli(['enroll', empty, data]);
    // One person: the gallery cannot calibrate itself; the backbone's default calibration applies.
    const one = await cli(['identify', empty, orl(1, 2), orl(2, 1), '--json']);
    expect(one.stderr).toMatch(/--far 0\.01: threshold [\d.]+ \(backbone default calibration/);
    expect(one.stderr).toContain("this threshold comes from the backbone's reference photos, not yours; with people it had not seen it let up to three times the rate asked through, and on web photos it names fewer of your people (calibration/README.md); enroll more people for a calibration of your own\n");
    expect(JSON.parse(one.stdout).map((r: { faces: FaceJson[] }) => r.faces[0]?.label)).toEqual(['x', null]);
    // verify given this gallery: the remedy is to enroll more people in it, not to give one.
    const given = await cli(['verify', orl(1, 2), orl(1, 3), '--gallery', empty]);
    expect(given.stderr).toContain(`; enroll more people in ${empty} for a calibration of your own\n`);
    expect(given.stderr).not.toContain('give --gallery');
    const stats = JSON.parse((await cli(['gallery', 'stats', empty, '--json'])).stdout);
    expect(stats.calibration).toBe('default');
    // One person: every threshold is the backbone default calibration's.
    expect(Object.values(thresholdsOf(stats)).map((t) => t.source)).toEqual(['default', 'default', 'default', 'default']);
    // And the text says whose figures those are (the reference's pair counts, not the gallery's).
    const text = (await cli(['gallery', 'stats', empty])).stdout;
    expect(text).toContain(`verify (face against face) (the backbone's reference photos, not this gallery's): ${stats.verify.genuinePairs} genuine`);
    expect(text).toContain("identify (face against the best other person) (the backbone's reference photos, not this gallery's): ");
    await cli(['gallery', 'remove', empty, 'x']);
    // Told from gallery.json before the GPU starts (no backbone line, no detector warm-up).
    expect((await failing(['identify', empty, photo])).stderr.trim()).toBe(`facegpu: ${empty}: the gallery is empty: enroll people first (facegpu enroll ${empty} <photos>)`);
    expect((await failing(['identify', empty, photo, '--far', '2'])).stderr).toMatch(/--far is a false-accept rate in \(0, 1\)/);
    expect((await failing(['identify', empty, photo, '--min-face', '10'])).stderr.trim()).toBe('facegpu: --min-face must be 0 (the whole photo only) or a whole number of pixels from 24, got 10');
    // --annotate: not a folder, inside a folder of photos given, or holding a photo given.
    const photos = join(tmp, 'annotate-photos');
    mkdirSync(photos);
    copyFileSync(photo, join(photos, 'a.pgm'));
    expect((await failing(['identify', empty, photo, '--annotate', photo])).stderr.trim()).toBe(`facegpu: --annotate ${photo}: is a file, not a folder`);
    expect((await failing(['identify', empty, photos, '--annotate', join(photos, 'drawn')])).stderr.trim()).toBe(
      `facegpu: --annotate ${join(photos, 'drawn')}: is inside the photo folder ${photos}; its drawings would be read as photos next time. Choose a folder outside it`,
    );
    expect((await failing(['identify', empty, join(photos, 'a.pgm'), '--annotate', photos])).stderr.trim()).toBe(
      `facegpu: --annotate ${photos}: holds the photo ${join(photos, 'a.pgm')}, which a drawing could replace. Choose a folder outside the photos`,
    );
    expect((await failing(['identify', empty, photo, '--far', '0.1', '--threshold', '0.5'])).stderr).toMatch(/--far or --threshold, not both/);
    expect((await failing(['gallery', 'remove', empty, 'nobody'])).stderr.trim()).toBe(`facegpu: ${empty}: no person named "nobody" (see facegpu gallery list ${empty})`);
  });

  it('a gallery made with another backbone is refused', async () => {
    const g = join(tmp, 'other-backbone');
    const data = firstPhotos(join(tmp, 'two'), [1, 2]);
    await cli(['enroll', g, data]);
    const file = join(g, 'gallery.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    json.backbone.sha256 = '0'.repeat(64);
    writeFileSync(file, JSON.stringify(json));
    const r = await failing(['identify', g, orl(1, 2)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/backbone/);
    expect(r.stderr).toMatch(/000000000000/);
  });

  it('a photo enrolled again is skipped, under its own name or another; an unreadable file exits 2, the others enrolled', async () => {
    const g = join(tmp, 'again');
    const data = firstPhotos(join(tmp, 'again-data'), [1, 2]);
    // A sidecar beside a photo (gallery export-xmp writes them) is not a photo to skip.
    writeFileSync(join(data, 's1', '1.pgm.xmp'), '<x:xmpmeta xmlns:x="adobe:ns:meta/"/>');
    await cli(['enroll', g, data]);
    // The same folder again: nothing added twice, and no failure (exit status 0).
    type Report = { person: string; added: number; skipped: { file: string; reason: string; unreadable?: true; copyOf?: string }[] };
    const again: Report[] = JSON.parse((await cli(['enroll', g, data, '--json'])).stdout);
    expect(again.map((r) => [r.added, r.skipped.length])).toEqual([[0, 1], [0, 1]]);
    expect(again[0].skipped[0].reason).toMatch(/^the same photo as .*s1.1\.pgm, already enrolled$/);
    expect(again[0].skipped[0].copyOf).toBe(again[0].skipped[0].file);
    // As s2: a copy of s1's photo, a new photo given twice, and an empty file.
    const copy = join(tmp, 'copy-of-s1.pgm');
    copyFileSync(orl(1, 1), copy);
    const empty = join(tmp, 'empty.pgm');
    writeFileSync(empty, '');
    const r = await failing(['enroll', g, '--person', 's2', copy, orl(2, 2), orl(2, 2), empty, '--json']);
    expect(r.code).toBe(2);
    const [s2]: Report[] = JSON.parse(r.stdout);
    expect(s2.added).toBe(1);
    expect(s2.skipped.map((s) => [s.file, s.unreadable ?? false])).toEqual([[empty, true], [copy, false], [orl(2, 2), false]]);
    expect(s2.skipped[0].reason).toBe('empty file'); // "file" names it
    expect(s2.skipped[1].reason).toMatch(/^the same photo as .*s1.1\.pgm, enrolled as "s1"$/);
    expect(s2.skipped[2].reason).toBe('given twice: enrolled once'); // given twice in this run
    const stats = JSON.parse((await cli(['gallery', 'stats', g, '--json'])).stdout);
    expect([stats.people, stats.faces]).toEqual([2, 3]);
    // Given relative to one folder, kept by its full path: removed by it from another.
    copyFileSync(orl(3, 1), join(tmp, 's3-1.pgm'));
    const rel = JSON.parse((await exec('node', [CLI, 'enroll', g, '--person', 's3', 's3-1.pgm', '--json'], { cwd: tmp, timeout: 600_000 })).stdout);
    expect(rel).toEqual([{ person: 's3', added: 1, skipped: [] }]);
    expect(JSON.parse((await cli(['gallery', 'list', g, 's3', '--json'])).stdout)[0].file).toBe(join(tmp, 's3-1.pgm'));
    expect((await cli(['gallery', 'remove', g, 's3', '--photo', join(tmp, 's3-1.pgm')])).stdout.trim()).toBe(`s3: 1 face removed; no face left, so s3 is gone from ${g}`);
  });

  it("a photo of one person enrolled under another's name is warned of, with how to remove it; another photo of that person is not", async () => {
    const g = join(tmp, 'lookalike');
    for (const p of [1, 2, 3]) await cli(['enroll', g, '--person', `s${p}`, orl(p, 1), orl(p, 2), orl(p, 3)]);
    // The gallery as the enroll run below finds it: its threshold at --far 0.001, and what
    // identify says there of s1's photo.
    const before = JSON.parse((await cli(['gallery', 'stats', g, '--json'])).stdout).thresholds.identify['0.001'];
    const [seen]: FaceJson[] = JSON.parse((await cli(['identify', g, orl(1, 5), '--far', '0.001', '--json'])).stdout)[0].faces;
    type Report = { person: string; added: number; lookalikes?: { file: string; person: string; similarity: number; threshold: number }[] };
    const wrong = await cli(['enroll', g, '--person', 's2', orl(1, 5), orl(2, 5), '--json']);
    const [r]: Report[] = JSON.parse(wrong.stdout);
    expect(Object.keys(r).sort()).toEqual(['added', 'lookalikes', 'person', 'skipped']);
    expect(r.added).toBe(2);
    expect(r.lookalikes).toHaveLength(1);
    const [l] = r.lookalikes!;
    // The entry's keys, no more and no fewer, and its figures: identify's at --far 0.001 on the
    // gallery as it was (the threshold exact: the calibration's own number, not rounded).
    expect(Object.keys(l).sort()).toEqual(['file', 'person', 'similarity', 'threshold']);
    expect([l.file, l.person]).toEqual([orl(1, 5), 's1']);
    expect(l.threshold).toBe(before.threshold);
    expect([seen.label, seen.threshold]).toEqual(['s1', Math.round(l.threshold * 1e6) / 1e6]);
    expect(l.similarity).toBeCloseTo(seen.similarity, 4);
    expect(l.similarity).toBeGreaterThanOrEqual(l.threshold);
    expect(l.similarity).toBeLessThanOrEqual(1);
    // More like s1 than like s2, the name it was enrolled under.
    expect(l.similarity).toBeGreaterThan(seen.candidates.find((c) => c.label === 's2')?.similarity ?? -1);
    expect(wrong.stderr).toContain(
      `facegpu: warning: ${orl(1, 5)} enrolled as "s2" looks like "s1" (similarity ${l.similarity.toFixed(3)}; identify --far 0.001 names from ${l.threshold.toFixed(3)}): ` +
        `a photo of them, or a face framed wrong? It lets strangers through more often; remove it with facegpu gallery remove ${g} s2 --photo ${orl(1, 5)}\n`,
    );
    // The photos of the person's own: nothing to say.
    const right = await cli(['enroll', g, '--person', 's3', orl(3, 5), '--json']);
    expect(JSON.parse(right.stdout)).toEqual([{ person: 's3', added: 1, skipped: [] }]);
    expect(right.stderr).not.toContain('looks like');
  });

  it("a copy of one person's photo under another's name (enrolled before them: no lookalike to warn of) is left out of identify's threshold, and named with how to remove it", async () => {
    const g = join(tmp, 'named-twice');
    // ORL s5/3 at twice its size, as a resized copy would come.
    const { data, width, height } = await loadImageRaw(orl(5, 3));
    const copy = join(tmp, 'copy-of-s5-3.png');
    await sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels: 3 } }).resize(width * 2, height * 2).png().toFile(copy);
    await cli(['enroll', g, '--person', 's12', ...[1, 2, 3, 4, 5].map((k) => orl(12, k)), copy]);
    expect((await cli(['enroll', g, '--person', 's5', ...[1, 2, 3, 4, 5].map((k) => orl(5, k))])).stderr).not.toContain('looks like');
    await cli(['enroll', g, '--person', 's23', ...[1, 2, 3, 4, 5].map((k) => orl(23, k))]);
    const probes = [5, 12, 23].flatMap((p) => [6, 7, 8, 9, 10].map((k) => orl(p, k)));
    const { stdout, stderr } = await cli(['identify', g, ...probes, '--json']);
    const named = (JSON.parse(stdout) as FileJson[]).map((f) => ('faces' in f ? f.faces[0]?.label : f.error));
    expect(named).toEqual([5, 12, 23].flatMap((p) => Array(5).fill(`s${p}`)));
    // Counted in, the copy's 0.89 to s5 would have set the threshold: nearly nobody named.
    const line = stderr.split('\n').find((l) => l.includes('under two names'));
    expect(line).toMatch(
      new RegExp(
        `^facegpu: warning: 1 face in ${g} scores as another person's own \\(0\\.8\\d\\d or more: the same face under two names\\?\\), left out of the calibration: ` +
          `${copy} under "s12" scores 0\\.9\\d\\d to ${orl(5, 3)} under "s5"\\. If that face is not s12's, remove it with facegpu gallery remove ${g} s12 --photo ${copy}$`,
      ),
    );
    expect(stderr).toMatch(/--far 0\.01: threshold 0\.[0-7]\d\d /);
    const json = JSON.parse((await cli(['gallery', 'stats', g, '--json'])).stdout);
    expect(json.namedTwice.groups).toEqual([]);
    expect(json.namedTwice.faces).toHaveLength(1);
    expect(json.namedTwice.faces[0]).toMatchObject({ file: copy, person: 's12', other: 's5', otherFile: orl(5, 3) }); // the photo it copies, not another of s5's it reaches
    expect(Object.keys(json.namedTwice).sort()).toEqual(['alike', 'faces', 'groups', 'moreLikeAnother', 'restsOn']);
    expect(Object.keys(json.namedTwice.faces[0]).sort()).toEqual(['file', 'other', 'otherFile', 'person', 'similarity']);
    const stats = await cli(['gallery', 'stats', g]);
    expect(stats.stderr).toMatch(new RegExp(`1 face scores as another person's \\(at or above 0\\.8\\d\\d: the same face under two names\\?\\), left out of the calibration: ${copy} under "s12": 0\\.9\\d\\d to ${orl(5, 3)} under "s5"`));
    // Removed as told: nothing left out, nothing said.
    await cli(['gallery', 'remove', g, 's12', '--photo', copy]);
    const after = await cli(['identify', g, orl(5, 6)]);
    expect(after.stderr).not.toContain('under two names');
  });

  it("a threshold of the gallery's own that rests on a photo under the wrong name says which, and how to remove it", async () => {
    const g = join(tmp, 'rests-on');
    for (const p of [1, 2, 3, 8]) await cli(['enroll', g, '--person', `s${p}`, ...[1, 2, 3, 4, 5].map((k) => orl(p, k))]);
    // "mix": s11's photos and two of s8's.
    await cli(['enroll', g, '--person', 'mix', ...[1, 2, 3, 4, 5].map((k) => orl(11, k)), orl(8, 8), orl(8, 9)]);
    const { stderr } = await cli(['identify', g, orl(1, 6), '--far', '0.01']);
    const m = stderr.match(/--far 0\.01: threshold (0\.\d+) \(gallery calibration, \d+ impostor comparisons\)/);
    expect(m, stderr).not.toBeNull();
    expect(stderr).toMatch(
      new RegExp(`facegpu: warning: the threshold rests on ${orl(8, 8)} under "mix", which is more like "s8" \\(${m![1]}\\) than like mix's other faces \\(0\\.\\d{3}\\): a photo under the wrong name\\? If so, remove it with facegpu gallery remove ${g} mix --photo ${orl(8, 8)}\n`),
    );
    const stats = JSON.parse((await cli(['gallery', 'stats', g, '--json'])).stdout);
    expect(stats.namedTwice.moreLikeAnother.map((f: { file: string }) => f.file).sort()).toEqual([orl(8, 8), orl(8, 9)]);
    for (const f of stats.namedTwice.moreLikeAnother) expect(Object.keys(f).sort()).toEqual(['file', 'merge', 'other', 'own', 'person', 'similarity']);
  });

  it('enroll advises merging into the name with more faces, also when that is the person just enrolled', async () => {
    const g = join(tmp, 'merge-into');
    // A copy of s5/3 enrolled alone as "s12" first; then s5, with five photos.
    const { data, width, height } = await loadImageRaw(orl(5, 3));
    const copy = join(tmp, 'merge-into-copy.png');
    await sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels: 3 } }).resize(width * 2, height * 2).png().toFile(copy);
    for (const p of [1, 2, 3]) await cli(['enroll', g, '--person', `s${p}`, ...[1, 2, 3, 4, 5].map((k) => orl(p, k))]);
    await cli(['enroll', g, '--person', 's12', copy]);
    const { stderr } = await cli(['enroll', g, '--person', 's5', ...[1, 2, 3, 4, 5].map((k) => orl(5, k))]);
    expect(stderr).toMatch(new RegExp(`"s5" looks like one person with "s12" \\(templates 0\\.\\d{3}\\)[^\n]* merge them with facegpu gallery rename ${g} s12 s5\n`));
  });

  it('one person enrolled under two names is warned of at enroll and identify, calibrated as one, and merged by the command given', async () => {
    const g = join(tmp, 'two-names');
    await cli(['enroll', g, '--person', 's12', ...[1, 2, 3, 4, 5].map((k) => orl(12, k))]);
    await cli(['enroll', g, '--person', 's23', ...[1, 2, 3, 4, 5].map((k) => orl(23, k))]);
    await cli(['enroll', g, '--person', 's5', ...[1, 2, 3, 4, 5].map((k) => orl(5, k))]);
    const again = await cli(['enroll', g, '--person', 's5 again', orl(5, 6), orl(5, 7), orl(5, 8), '--json']);
    const [r] = JSON.parse(again.stdout) as { sameAs?: { person: string; similarity: number }[] }[];
    // Said of the person, not photo by photo (merging mends it, not removing photos).
    expect(Object.keys(r).sort()).toEqual(['added', 'person', 'sameAs', 'skipped']);
    expect(again.stderr).not.toContain('looks like "s5"');
    expect(r.sameAs).toHaveLength(1);
    expect(Object.keys(r.sameAs![0]).sort()).toEqual(['person', 'similarity']);
    expect(r.sameAs![0].person).toBe('s5');
    expect(r.sameAs![0].similarity).toBeGreaterThan(0.824);
    expect(again.stderr).toContain(
      `facegpu: warning: "s5 again" looks like one person with "s5" (templates ${r.sameAs![0].similarity.toFixed(3)}), as alike as one person's faces: two names for one person? If so, merge them with facegpu gallery rename ${g} 's5 again' s5\n`,
    );
    const probes = [5, 12, 23].flatMap((p) => [9, 10].map((k) => orl(p, k)));
    const { stdout, stderr } = await cli(['identify', g, ...probes, '--json']);
    const named = (JSON.parse(stdout) as FileJson[]).map((f) => ('faces' in f ? f.faces[0]?.label : f.error));
    for (const l of named.slice(0, 2)) expect(['s5', 's5 again']).toContain(l);
    expect(named.slice(2)).toEqual(['s12', 's12', 's23', 's23']);
    expect(stderr).toMatch(/facegpu: warning: "s5", "s5 again" in \S+ look like one person \(templates up to 0\.\d{3}, as alike as one person's faces\): calibrated as one, and their faces named as any of them\. If they are one, merge them with facegpu gallery rename \S+ 's5 again' s5\n/);
    expect(stderr).not.toContain('under two names?'); // no face left out one by one
    const json = JSON.parse((await cli(['gallery', 'stats', g, '--json'])).stdout);
    expect(json.namedTwice.groups).toHaveLength(1);
    expect(json.namedTwice.groups[0].names).toEqual(['s5', 's5 again']);
    expect(Object.keys(json.namedTwice.groups[0]).sort()).toEqual(['names', 'similarity']);
    expect(json.namedTwice.faces).toEqual([]);
    expect((await cli(['gallery', 'stats', g])).stderr).toMatch(/2 people look like one person \(at or above 0\.8\d\d: one person under several names\? calibrated as one; renaming the others to the first merges them\): "s5", "s5 again" \(templates 0\.\d{3}\)/);
    // Merged as told: one person, nothing said.
    expect((await cli(['gallery', 'rename', g, 's5 again', 's5', '--json'])).stdout).toContain('"merged"');
    const after = await cli(['identify', g, orl(5, 9), '--json']);
    expect(JSON.parse(after.stdout)[0].faces[0].label).toBe('s5');
    expect(after.stderr).not.toContain('look like one person');
  });

  it('two enroll runs on one gallery at once: both people end up in it, the gallery intact', async () => {
    const g = join(tmp, 'concurrent');
    const run = (person: number) =>
      new Promise<{ code: number | null; stderr: string }>((done) => {
        const child = spawn('node', [CLI, 'enroll', g, '--person', `p${person}`, orl(person, 1), orl(person, 2)], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => done({ code, stderr }));
      });
    const [a, b] = await Promise.all([run(3), run(4)]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const list = JSON.parse((await cli(['gallery', 'list', g, '--json'])).stdout);
    expect(list.map((p: { name: string }) => p.name).sort()).toEqual(['p3', 'p4']);
    const s = JSON.parse((await cli(['gallery', 'stats', g, '--json'])).stdout);
    expect(s.faces).toBe(4);
  });
});

describe('the trained head too: predict --json lists every face', () => {
  it('a model trained on face crops judges each face; a photo without a face is faces [] and no name', async () => {
    const model = join(tmp, 'model');
    const data = join(tmp, 'orl5');
    for (let p = 1; p <= 3; p++) {
      mkdirSync(join(data, `s${p}`), { recursive: true });
      for (let k = 1; k <= 6; k++) symlinkSync(orl(p, k), join(data, `s${p}`, `${k}.pgm`));
    }
    await cli(['train', data, '--out', model, '--epochs', '8', '--seed', '1', '--validation-split', '0.34']);
    const grey = join(tmp, 'grey2.png');
    await sharp({ create: { width: 200, height: 200, channels: 3, background: '#777777' } }).png().toFile(grey);
    const { stdout } = await cli(['predict', model, orl(2, 9), grey, '--json']);
    const [face, none] = JSON.parse(stdout);
    expect(face.faces.length).toBeGreaterThanOrEqual(1);
    expect(Object.keys(face.faces[0]).sort()).toEqual(['box', 'label', 'probability', 'score', 'top']);
    // Rounded as identify's: boxes to a tenth of a pixel, probabilities and scores to 1e-6.
    const f0 = face.faces[0];
    expect(f0.box.every((v: number) => Math.round(v * 10) / 10 === v)).toBe(true);
    for (const x of [f0.score, f0.probability, face.probability]) expect(Math.round(x * 1e6) / 1e6).toBe(x);
    expect(none.faces).toEqual([]);
    expect(none.label).toBe('unknown');
  });
});
