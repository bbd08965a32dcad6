// What users give where a model folder is meant (predict, eval, readModelMeta): a file, a
// gallery, a data folder. Made under `dir`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function notModels(dir: string): { file: string; gallery: string; data: string } {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'model.txt');
  writeFileSync(file, 'x');
  const gallery = join(dir, 'a-gallery');
  mkdirSync(gallery, { recursive: true });
  writeFileSync(join(gallery, 'gallery.json'), '{}');
  const data = join(dir, 'a-data-folder');
  mkdirSync(join(data, 's1'), { recursive: true });
  return { file, gallery, data };
}
