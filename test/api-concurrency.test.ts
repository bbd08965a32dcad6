// The library API under overlapping calls (Promise.all), as a program uses it: one describer
// or one Gallery asked about several photos at once gives each call its own photos' faces
// (descriptors equal to those computed alone, labels equal to a sequential run's), and
// concurrent enrolments store each person's own faces under their own name, as enrolled in
// turn. Also the API's small promises: openFaceDescriber's preprocessing is optional, the
// enrol report names the person as stored, and the decoders refuse a Buffer or a bad size in
// one line. ORL portraits (../shared), one engine for the file.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaceDescriber } from '../src/faces/describe.ts';
import { DEFAULT_PREPROCESSING } from '../src/faces/framing.ts';
import { describeFiles, openFaceDescriber } from '../src/faces/node.ts';
import type { Gpu } from '../src/gpu/device.ts';
import { loadImageRaw, loadImageRGB } from '../src/image/decode.ts';
import type { MobileNetEngine } from '../src/mobilenet/engine.ts';
import { Gallery, openEngine, openVerifier, type EnrollReport, type IdentifiedFile } from '../src/node.ts';
import { identifyFiles } from '../src/identity/node.ts';
import { ORL } from './helpers/faces.ts';
import { cosine } from './helpers/layout.ts';

const orl = (person: number, photo: number) => join(ORL, `s${person}`, `${photo}.pgm`);

describe('the decoders refuse what is not a path, or a bad size, in one line', () => {
  const file = orl(1, 1);
  const bytes = readFileSync(file);

  it('a Buffer or a Uint8Array instead of a path: a TypeError saying so, without the bytes', async () => {
    for (const [call, what] of [
      [() => loadImageRGB(bytes as unknown as string, 224), 'loadImageRGB'],
      [() => loadImageRaw(bytes as unknown as string), 'loadImageRaw'],
      [() => loadImageRaw(new Uint8Array(bytes) as unknown as string), 'loadImageRaw'],
    ] as const) {
      const err = (await call().then(() => null, (e: Error) => e))!;
      expect(err).toBeInstanceOf(TypeError);
      expect(err.message).toMatch(new RegExp(`^${what}: expected a file path \\(string\\), got a (Buffer|Uint8Array) of ${bytes.length} bytes$`));
    }
  });

  it('a size that is not a positive integer is refused naming the size, not the image', async () => {
    for (const size of [NaN, 0, -224, 22.5]) {
      await expect(loadImageRGB(file, size)).rejects.toThrow(`loadImageRGB: size must be a positive integer (the output's side in pixels), got ${size}`);
    }
    // Before the file is read: a missing file with a bad size is about the size.
    await expect(loadImageRGB('/nonexistent/photo.jpg', NaN)).rejects.toThrow(/size must be a positive integer.*got NaN/);
    expect((await loadImageRGB(file, 224)).length).toBe(224 * 224 * 3);
  });
});

describe('on the GPU', () => {
  let gpu: Gpu;
  let engine: MobileNetEngine;
  let describer: FaceDescriber;
  const dirs: string[] = [];
  const galleries: Gallery[] = [];
  beforeAll(async () => {
    ({ gpu, engine } = await openEngine());
    describer = await openFaceDescriber(gpu, engine); // no preprocessing: the default, as the page's
  });
  afterAll(() => {
    for (const g of galleries) g.close();
    describer?.destroy();
    engine?.destroy();
    gpu?.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'facegpu-concurrency-'));
    dirs.push(d);
    return join(d, 'people');
  };

  it('openFaceDescriber(gpu, engine) frames faces by the default preprocessing', () => {
    expect(describer.preprocessing).toEqual(DEFAULT_PREPROCESSING);
  });

  it('describeFiles under Promise.all gives each photo the descriptors it has alone', async () => {
    const photos = [1, 2, 3, 4, 5, 6].map((p) => orl(p, 1));
    const alone: Awaited<ReturnType<typeof describeFiles>> = [];
    for (const p of photos) alone.push((await describeFiles(describer, [p]))[0]);
    const together = await Promise.all(photos.map(async (p) => (await describeFiles(describer, [p]))[0]));
    // Different people are different: a mix-up could not pass for the right answer.
    for (const r of alone) expect('faces' in r && r.faces.length).toBe(1);
    const face = (r: (typeof alone)[number]) => ('faces' in r ? r.faces[0] : expect.unreachable(r.error));
    expect(cosine(face(alone[0]).descriptor, face(alone[1]).descriptor)).toBeLessThan(0.95);
    together.forEach((r, i) => {
      expect(r.file).toBe(photos[i]);
      expect(face(r).box).toEqual(face(alone[i]).box);
      expect(cosine(face(r).descriptor, face(alone[i]).descriptor)).toBeGreaterThan(0.9999);
    });
  });

  const people = [1, 2, 3, 4];
  const names = ['José ', 's2', 's3', 's4']; // " José " is kept as "José"
  const stored = names.map((n) => n.trim());
  const enrolPhotos = (p: number) => [1, 2, 3].map((k) => orl(p, k));
  const probes = people.map((p) => orl(p, 7));

  let inTurn: Gallery;
  let together: Gallery;
  let togetherDir: string;

  it('enrolments under Promise.all store what enrolling in turn stores, under the names as kept', async () => {
    inTurn = await Gallery.load(tempDir(), { gpu, engine, create: true, onNotice: () => {} });
    galleries.push(inTurn);
    const turnReports: EnrollReport[] = [];
    for (let i = 0; i < people.length; i++) turnReports.push(await inTurn.enroll(names[i], enrolPhotos(people[i])));

    togetherDir = tempDir();
    together = await Gallery.load(togetherDir, { gpu, engine, create: true, onNotice: () => {} });
    galleries.push(together);
    const reports = await Promise.all(people.map((p, i) => together.enroll(names[i], enrolPhotos(p))));

    expect(turnReports.map((r) => [r.person, r.added, r.skipped.length])).toEqual(stored.map((n) => [n, 3, 0]));
    expect(reports).toEqual(turnReports);
    expect(together.people()).toEqual(inTurn.people());
    expect(together.people().map((p) => p.name)).toEqual(stored);
    for (const n of stored) expect(cosine(together.faces.gallery.template(n), inTurn.faces.gallery.template(n))).toBeGreaterThan(0.9999);
    expect(together.faces.gallery.faces().map((f) => [f.person, f.file])).toEqual(inTurn.faces.gallery.faces().map((f) => [f.person, f.file]));

    // A save called while an enrolment is under way writes what it leaves; a remove called
    // while one of that person is under way removes them after it.
    const extra = together.enroll('s5', enrolPhotos(5));
    const saved = together.save();
    await Promise.all([extra, saved]);
    const reloaded = await Gallery.load(togetherDir, { gpu, engine, onNotice: () => {} });
    galleries.push(reloaded);
    expect(reloaded.people()).toEqual([...inTurn.people(), { name: 's5', faces: 3, photos: 3 }]);
    for (const n of stored) expect(cosine(reloaded.faces.gallery.template(n), inTurn.faces.gallery.template(n))).toBeGreaterThan(0.9999);
    const more = together.enroll('s6', enrolPhotos(6));
    const removed = together.remove('s6');
    await Promise.all([more, removed, together.remove('s5')]);
    expect(together.people()).toEqual(inTurn.people());
  });

  it('enrolments of more than a batch each under Promise.all do not interleave their batches', async () => {
    // X: 17 photos, a batch of 16 and one more (DECODE_BATCH); Y, called while X's first batch
    // is under way, must wait for X's second: each enrolment whole, in call order.
    const lots = (a: number, b: number) => [...Array.from({ length: 10 }, (_, k) => orl(a, k + 1)), ...Array.from({ length: 7 }, (_, k) => orl(b, k + 1))];
    const work: [string, string[]][] = [
      ['X', lots(6, 7)],
      ['Y', [orl(8, 1), orl(8, 2)]],
    ];
    const turn = await Gallery.load(tempDir(), { gpu, engine, create: true, onNotice: () => {} });
    galleries.push(turn);
    for (const [n, files] of work) expect((await turn.enroll(n, files)).added).toBe(files.length);
    const both = await Gallery.load(tempDir(), { gpu, engine, create: true, onNotice: () => {} });
    galleries.push(both);
    await Promise.all(work.map(([n, files]) => both.enroll(n, files)));
    const order = (g: Gallery) => g.faces.gallery.faces().map((f) => [f.person, f.file]);
    expect(order(turn)).toEqual(work.flatMap(([n, files]) => files.map((f) => [n, f])));
    expect(order(both)).toEqual(order(turn));
  });

  it('identify under Promise.all names every face as a sequential run does', async () => {
    const labels = (r: IdentifiedFile): (string | number | null)[][] => ('error' in r ? expect.unreachable(r.error) : r.faces.map((f) => [f.label, f.similarity]));
    const turn: (string | number | null)[][][] = [];
    for (const p of probes) turn.push(labels((await together.identify([p], { far: 0.01 }))[0]));
    expect(turn.map((faces) => faces.map(([label]) => label))).toEqual(stored.map((n) => [n]));
    const overlapping = await Promise.all(probes.map(async (p) => labels((await together.identify([p], { far: 0.01 }))[0])));
    overlapping.forEach((faces, i) => {
      expect(faces.map(([label]) => label)).toEqual(turn[i].map(([label]) => label));
      expect(faces[0][1]).toBeCloseTo(turn[i][0][1] as number, 4);
    });
  });

  it('verify under Promise.all answers each pair as it does alone', async () => {
    const pairs: [string, string][] = [
      [orl(1, 8), orl(1, 9)],
      [orl(1, 8), orl(2, 8)],
      [orl(3, 8), orl(3, 9)],
      [orl(2, 9), orl(4, 9)],
    ];
    const turn: { similarity: number; same: boolean }[] = [];
    for (const [a, b] of pairs) turn.push(await together.verify(a, b));
    expect(turn.map((r) => r.same)).toEqual([true, false, true, false]);
    const overlapping = await Promise.all(pairs.map(([a, b]) => together.verify(a, b)));
    overlapping.forEach((r, i) => {
      expect(r.same).toBe(turn[i].same);
      expect(r.similarity).toBeCloseTo(turn[i].similarity, 4);
    });
  });

  it('a closed gallery says so, naming itself, for what needs its face pipeline (it said "warp: the face warper has been destroyed")', async () => {
    const dir = tempDir();
    const g = await Gallery.load(dir, { gpu, engine, create: true, onNotice: () => {} });
    g.close();
    for (const [what, call] of [
      ['enroll', () => g.enroll('x', [orl(1, 1)])],
      ['identify', () => g.identify([orl(1, 1)])],
      ['verify', () => g.verify(orl(1, 1), orl(1, 2))],
    ] as const) {
      await expect(call(), what).rejects.toThrow(`gallery ${dir}: cannot ${what}: it was closed (Gallery.close); load it again`);
    }
  });
  it('what a program may get wrong is refused in one line naming it, before any work', async () => {
    const dir = tempDir();
    const opts = { gpu, engine, create: true, onNotice: () => {} };
    await expect(Gallery.load(dir, undefined as never)).rejects.toThrow(`gallery ${dir}: the options need { gpu, engine } (from openEngine())`);
    const g = await Gallery.load(dir, opts);
    galleries.push(g);
    await expect(g.enroll('b', orl(1, 1) as never)).rejects.toThrow(`gallery ${dir}: enroll: files must be an array of file paths, got a string (one path: put it in an array)`);
    await expect(g.enroll('b', [orl(1, 1), 7 as never])).rejects.toThrow(`gallery ${dir}: enroll: file 1 must be a path (string), got a number`);
    await expect(g.enroll(42 as never, [orl(1, 1)])).rejects.toThrow('person name: must be a string, got number');
    await g.enroll('one', [orl(1, 1), orl(1, 2)]);
    await g.enroll('two', [orl(2, 1), orl(2, 2)]);
    // A name that differs from one enrolled in case only is not a second person.
    await expect(g.enroll('ONE', [orl(1, 3)])).rejects.toThrow(`person "ONE": "one" is enrolled already, a name that differs in case only; use "one", or rename them first`);
    expect(g.people().map((p) => p.name)).toEqual(['one', 'two']);
    await expect(g.identify([orl(1, 3)], { threshold: 5 })).rejects.toThrow('threshold must be a similarity from -1 to 1, got 5');
    await expect(g.identify([orl(1, 3)], { far: '0.01' as never })).rejects.toThrow('a FAR must be a number in (0, 1], got "0.01"');
    expect((await g.identify([orl(1, 3)], { threshold: -1 }))[0]).toMatchObject({ faces: [{ label: 'one' }] });
    // A folder of other files is refused at load, not at the save after the enrolment's work.
    const photos = join(dir, '..', 'photos');
    mkdirSync(photos);
    writeFileSync(join(photos, 'a.txt'), 'not a gallery');
    await expect(Gallery.load(photos, opts)).rejects.toThrow(`${photos}: exists and is not a facegpu gallery (no gallery.json); refusing to replace it`);
  });

  it('a gallery enrolled on a device that met a WebGPU error nothing caught is not saved', async () => {
    const dir = tempDir();
    const g = await Gallery.load(dir, { gpu, engine, create: true, onNotice: () => {} });
    galleries.push(g);
    await g.enroll('one', [orl(1, 1)]);
    gpu.uncaught = 'made up by the test';
    try {
      await expect(g.save()).rejects.toThrow(`gallery ${dir}: not saved: a WebGPU error that nothing caught happened on the device (made up by the test)`);
    } finally {
      gpu.uncaught = null;
    }
    expect(existsSync(dir)).toBe(false);
    await g.save();
    expect(existsSync(join(dir, 'gallery.json'))).toBe(true);
  });

  it('a pair of two photos without a face says both (only the first was said)', async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    const blank = (name: string, v: number) => {
      const file = join(dir, name);
      writeFileSync(file, Buffer.concat([Buffer.from('P5\n64 64\n255\n'), Buffer.alloc(64 * 64, v)]));
      return file;
    };
    const [grey, dark] = [blank('grey.pgm', 128), blank('dark.pgm', 20)];
    const verifier = await openVerifier({ gpu, engine });
    try {
      const [both, one] = await verifier.verifyPairs([
        [grey, dark],
        [grey, orl(1, 1)],
      ]);
      expect('error' in both && both.error).toBe(`${grey}: no face found; ${dark}: no face found`);
      expect('error' in both && 'remedy' in both).toBe(false);
      expect('error' in one && one.error).toBe(`${grey}: no face found`);
    } finally {
      verifier.destroy();
    }
  });

  it('identify stops before its next batch when its signal is aborted, rejecting with the reason', async () => {
    const dir = tempDir();
    const g = await Gallery.load(dir, { gpu, engine, create: true, onNotice: () => {} });
    galleries.push(g);
    await g.enroll('one', [orl(1, 1), orl(1, 2)]);
    const stopped = new AbortController();
    stopped.abort(new Error('stopped by the test'));
    await expect(g.identify([orl(1, 3)], { signal: stopped.signal })).rejects.toThrow('stopped by the test');
    // Aborted once the first batch of 16 is answered: the second is not begun.
    const files = Array.from({ length: 20 }, (_, i) => orl(2 + (i % 5), 1 + Math.floor(i / 5)));
    const stop = new AbortController();
    const done: number[] = [];
    const run = identifyFiles(g.faces, files, { signal: stop.signal, onProgress: (n) => (done.push(n), stop.abort()) });
    await expect(run).rejects.toThrow(/aborted/);
    expect(done).toEqual([16]);
  });

  it("two Gallery objects of one folder: the second save, which would undo the first's enrolment, is refused; saved again by its own loader, or to another folder, it is not", async () => {
    const dir = tempDir();
    const opts = { gpu, engine, create: true, onNotice: () => {} };
    const first = await Gallery.load(dir, opts);
    galleries.push(first);
    await first.enroll('one', [orl(1, 1)]);
    await first.save();
    const a = await Gallery.load(dir, opts);
    const b = await Gallery.load(dir, opts);
    galleries.push(a, b);
    await a.enroll('two', [orl(2, 1)]);
    await b.enroll('three', [orl(3, 1)]);
    await a.save();
    await a.save(); // its own save is what it was loaded from now
    await expect(b.save()).rejects.toThrow(`gallery ${dir}: saved by another writer since it was loaded here; saving would undo their changes`);
    const other = join(dir, '..', 'elsewhere');
    await b.save(other);
    const back = await Gallery.load(dir, opts);
    galleries.push(back);
    expect(back.people().map((p) => p.name).sort()).toEqual(['one', 'two']);
    await back.enroll('three', [orl(3, 1)]);
    await back.save();
    const after = await Gallery.load(dir, opts);
    galleries.push(after);
    expect(after.people().map((p) => p.name).sort()).toEqual(['one', 'three', 'two']);
  });
});
