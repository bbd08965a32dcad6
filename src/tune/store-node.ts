// Tunings on disk (Node): one JSON file per key, <facegpu home>/tuning/<adapter>-<key hash>.json,
// written atomically. A file that cannot be read or parsed is treated as absent (the device
// is tuned again and the file replaced); the tuner compares the whole stored key with its own.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-fs.ts';
import { facegpuHome } from '../backbones.ts';
import type { TuningRecord, TuningStore } from './tuner.ts';

/** The folder of tunings: `dir`, else <facegpuHome()>/tuning. */
export function tuningDir(dir?: string): string {
  return dir ?? join(facegpuHome(), 'tuning');
}

export function nodeTuningStore(dir?: string): TuningStore {
  const folder = tuningDir(dir);
  const file = (id: string) => join(folder, `${id}.json`);
  return {
    where: file,
    async get(id) {
      try {
        return JSON.parse(await readFile(file(id), 'utf8')) as TuningRecord;
      } catch {
        return undefined;
      }
    },
    async set(id, record) {
      await writeFileAtomic(file(id), JSON.stringify(record, null, 1) + '\n');
    },
  };
}
