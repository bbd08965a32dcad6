// The photo library searched from its folder (Node): the gallery, its library's store and its
// search index opened read-only for one search and closed after, on every path. By the largest
// face of a photo (described on the caller's engine, framed as the gallery frames faces) or by
// a person of the gallery. What the CLI's `search` runs, and a program calls.
import { largestFace } from '../faces/describe.ts';
import { openFaceDescriber } from '../faces/node.ts';
import { assertBackbone, type Gallery } from '../gallery/gallery.ts';
import type { VectorIndex } from '../gallery/vector-index.ts';
import type { Gpu } from '../gpu/device.ts';
import { loadImageRaw } from '../image/decode.ts';
import { backboneRefOf, lookupName, noFaceError, preprocessingOf, type NamedImage } from '../identity/face-gallery.ts';
import { loadStoredGallery } from '../identity/node.ts';
import type { MobileNetEngine } from '../mobilenet/engine.ts';
import { RemedyError } from '../remedy.ts';
import { openSearchIndex } from './search-index-node.ts';
import { searchLibrary, searchLibraryForPerson, type SearchOptions, type SearchResult } from './search-node.ts';
import { LibraryStore } from './store-node.ts';

export interface LibrarySearchOptions extends SearchOptions {
  /** Told when the search index is rebuilt or caught up from the store. */
  onNotice?: (message: string) => void;
}

export interface PhotoSearchOptions extends LibrarySearchOptions {
  gpu: Gpu;
  engine: MobileNetEngine;
  /** Find faces down to this many pixels wide in the photo (DescriberOptions.minFace). */
  minFace?: number;
}

export interface PhotoSearchResult extends SearchResult {
  /** Faces found in the photo: the largest was searched for. */
  faces: number;
}

/** Run `fn` on the gallery at `dir` with its library's store and search index, read-only, closed after. */
async function withSearchIndex<T>(dir: string, onNotice: ((m: string) => void) | undefined, fn: (gallery: Gallery, store: LibraryStore, index: VectorIndex) => T | Promise<T>): Promise<T> {
  const gallery = await loadStoredGallery(dir, onNotice);
  const store = LibraryStore.open(dir, { readonly: true });
  let index: VectorIndex | null = null;
  try {
    index = openSearchIndex(store, dir, gallery.normalisation, { readOnly: true, onNotice });
    return await fn(gallery, store, index);
  } finally {
    index?.close?.();
    store.close();
  }
}

/**
 * The library's photos in which the person of `photo`'s largest face appears, best first
 * (searchLibrary), and who that is where the gallery knows. `photo` is a path, or an image
 * already decoded (a front end that checked the file before opening a device).
 */
export async function searchLibraryByPhoto(dir: string, photo: string | NamedImage, opts: PhotoSearchOptions): Promise<PhotoSearchResult> {
  const { name, image } = typeof photo === 'string' ? { name: photo, image: await loadImageRaw(photo) } : photo;
  return withSearchIndex(dir, opts.onNotice, async (gallery, store, index) => {
    assertBackbone(gallery, backboneRefOf(opts.engine));
    const describer = await openFaceDescriber(opts.gpu, opts.engine, preprocessingOf(gallery), { minFace: opts.minFace, onNotice: opts.onNotice });
    let faces;
    try {
      [faces] = await describer.describe([image]);
      if (!faces.length) throw noFaceError(name, describer, image);
    } finally {
      describer.destroy();
    }
    return { ...searchLibrary(store, index, gallery, faces[largestFace(faces)].descriptor, opts), faces: faces.length };
  });
}

/** The photos of a person of the gallery: their named faces, and the faces identify would name them. */
export async function searchLibraryByPerson(dir: string, person: string, opts: LibrarySearchOptions = {}): Promise<SearchResult> {
  return withSearchIndex(dir, opts.onNotice, (gallery, store, index) => {
    const name = lookupName(person, (n) => gallery.hasPerson(n));
    if (!gallery.hasPerson(name)) throw new RemedyError(`${dir}: no person named "${name}"`, ' (see the people of Gallery.people())', { case: 'no-person', dir });
    return searchLibraryForPerson(store, index, gallery, name, opts);
  });
}
