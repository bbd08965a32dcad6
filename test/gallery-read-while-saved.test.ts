// A gallery read while another process saves it: every load is one version of the folder
// (readDirConsistently, src/atomic-fs.ts). Before, about 4% of loads beside a busy writer
// failed (a file of the old folder beside one of the new, or no folder in the moment between
// the writer's two renames) and more mixed two versions silently (their indexes and
// calibrations rebuilt).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadGallery, readGalleryJson } from '../src/gallery/store-node.ts';

const root = resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'facegpu-read-saved-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Saves `n` versions, each with its own number of people (3 faces each), as enroll does: under the lock.
const WRITER = join(tmp, 'writer.mts');
writeFileSync(
  WRITER,
  `
import { Gallery } from ${JSON.stringify(join(root, 'src/gallery/gallery.ts'))};
import { saveGallery, withGalleryLock } from ${JSON.stringify(join(root, 'src/gallery/store-node.ts'))};
import { rowOf, syntheticFaces } from ${JSON.stringify(join(root, 'src/gallery/synthetic.ts'))};
const [dir, n] = process.argv.slice(2);
const dim = 64;
for (let i = 0; i < Number(n); i++) {
  const g = Gallery.create({ backbone: { id: 'face', sha256: 'ab' }, preprocessing: {}, normalisation: { method: 'l2' }, dim });
  const people = 2 + (i % 5);
  const data = syntheticFaces({ seed: i, dim, people, perPerson: 3 });
  for (let p = 0; p < people; p++) g.addFaces('p' + p, [0, 1, 2].map((f) => ({ file: p + '-' + f + '.jpg', box: [0, 0, 10, 10], score: 1, descriptor: rowOf(data.descriptors, dim, p * 3 + f) })));
  await withGalleryLock(dir, (lock) => saveGallery(dir, g, { lock }));
  if (i === 0) console.log('first');
}
`,
);

describe('a gallery read while it is saved', () => {
  it('every load and every gallery.json read is one whole version; nothing rebuilt, nothing failed', async () => {
    const dir = join(tmp, 'g');
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, '300'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const done = new Promise<number | null>((r) => child.on('close', r));
    await new Promise<void>((r) => child.stdout.once('data', () => r()));
    let writing = true;
    void done.then(() => (writing = false));
    const notices: string[] = [];
    const errors: string[] = [];
    let loads = 0;
    while (writing) {
      try {
        const g = await loadGallery(dir, { onNotice: (m) => notices.push(m) });
        // Versions differ in their people: a mix of two shows as faces not 3 per person.
        if (g.faces().length !== 3 * g.people().length) errors.push(`${g.faces().length} faces for ${g.people().length} people`);
        const json = await readGalleryJson(dir);
        if (json.faces.length % 3) errors.push(`gallery.json: ${json.faces.length} faces`);
        loads++;
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    expect(await done).toBe(0);
    console.log(`${loads} loads beside 300 saves`);
    expect(loads).toBeGreaterThan(30);
    expect(errors).toEqual([]);
    expect(notices).toEqual([]);
  }, 120_000);
});
