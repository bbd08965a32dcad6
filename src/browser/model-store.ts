// Trained face models in the browser, in the same three files a Node model directory holds
// (facegpu.json, model.json, weights.bin; see src/train/model-format.ts), so a model moves
// between the CLI and a page unchanged:
// - IndexedDB (idb-keyval): one record per name with the three files, written in one put, so
//   a save is never half done;
// - download: the three files, to put in a folder for `facegpu predict <folder> ...`;
// - files: the three files picked by the visitor (from a download or a Node model folder).
import { createStore, del, get, keys, set, type UseStore } from 'idb-keyval';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  HEAD_FILE, HEAD_WEIGHTS_FILE, headFromFiles, headToFiles, META_FILE, validateMeta, type FaceModelMeta, type HeadFiles,
} from '../train/model-format.ts';
import { offerDownloads } from './downloads.ts';

export interface StoredModel {
  head: tfl.LayersModel;
  meta: FaceModelMeta;
}

interface ModelRecord {
  meta: FaceModelMeta;
  modelJson: object;
  weights: Uint8Array;
}

let store: UseStore | null = null;
const modelStore = () => (store ??= createStore('facegpu', 'models'));

/** Save in this browser's IndexedDB under `name` (replacing a model of that name). */
export async function saveToBrowser(name: string, head: tfl.LayersModel, meta: FaceModelMeta): Promise<void> {
  const files = await headToFiles(head);
  const record: ModelRecord = { meta, modelJson: files.modelJson, weights: files.weights };
  await set(name, record, modelStore());
}

/** Names of the models saved in this browser. */
export async function listSavedModels(): Promise<string[]> {
  return (await keys(modelStore())).map(String).sort();
}

/** Delete a model saved in the browser (IndexedDB). */
export async function removeSavedModel(name: string): Promise<void> {
  await del(name, modelStore());
}

/** Load a model saved with saveToBrowser. */
export async function loadFromBrowser(name: string): Promise<StoredModel> {
  const where = `saved model "${name}"`;
  const record = (await get(name, modelStore())) as ModelRecord | undefined;
  if (!record) throw new Error(`${where}: not in this browser (saved models: ${(await listSavedModels()).join(', ') || 'none'})`);
  validateMeta(record.meta, where);
  return { meta: record.meta, head: await headFromFiles({ modelJson: record.modelJson, weights: record.weights }, where) };
}

/** The three files of a model, as the Node model directory has them. */
export async function modelFiles(head: tfl.LayersModel, meta: FaceModelMeta): Promise<File[]> {
  const files = await headToFiles(head);
  return [
    new File([JSON.stringify(meta, null, 1)], META_FILE, { type: 'application/json' }),
    new File([JSON.stringify(files.modelJson)], HEAD_FILE, { type: 'application/json' }),
    new File([files.weights as Uint8Array<ArrayBuffer>], HEAD_WEIGHTS_FILE, { type: 'application/octet-stream' }),
  ];
}

/** Offer the model's three files as downloads. */
export async function downloadModel(head: tfl.LayersModel, meta: FaceModelMeta): Promise<File[]> {
  const files = await modelFiles(head, meta);
  offerDownloads(files);
  return files;
}

/** Load a model from its three files (picked from a download or a Node model directory). */
export async function loadFromFiles(files: readonly File[]): Promise<StoredModel> {
  const byName = (n: string) => files.find((f) => f.name === n);
  const missing = [META_FILE, HEAD_FILE, HEAD_WEIGHTS_FILE].filter((n) => !byName(n));
  if (missing.length) {
    throw new Error(`pick the three files of a model folder (${META_FILE}, ${HEAD_FILE}, ${HEAD_WEIGHTS_FILE}); missing ${missing.join(', ')}`);
  }
  const parse = async (f: File) => {
    try {
      return JSON.parse(await f.text());
    } catch (err) {
      throw new Error(`${f.name}: not valid JSON (${(err as Error).message})`);
    }
  };
  const meta = await parse(byName(META_FILE)!);
  validateMeta(meta, META_FILE);
  const head: HeadFiles = { modelJson: await parse(byName(HEAD_FILE)!), weights: new Uint8Array(await byName(HEAD_WEIGHTS_FILE)!.arrayBuffer()) };
  return { meta, head: await headFromFiles(head, HEAD_FILE) };
}
