// Naming what clustering found, correcting names face by face, and the counts of a gallery
// with a photo library (Node). A named cluster's faces become that person's faces in the
// gallery itself (so identify, verify and the page use them like enrolled ones) and are marked
// named in the library (so search finds the person's photos by name and clustering never
// merges them with someone else). A face taken off a person leaves them in both, and the
// library remembers it (not_people), so that no later naming or clustering undoes the fix.
import { resolve } from 'node:path';
import { Gallery } from '../gallery/gallery.ts';
import type { FaceRecord } from '../gallery/gallery-format.ts';
import { saveGallery, withGalleryLock } from '../gallery/store-node.ts';
import { lookupName, personName } from '../identity/face-gallery.ts';
import { loadStoredGallery } from '../identity/node.ts';
import { galleryKey, libraryKey, linkGallery } from './gallery-link.ts';
import { LibraryStore, type LibraryCounts, type StoredFace } from './store-node.ts';
import { RemedyError } from '../remedy.ts';

export interface NameReport {
  person: string;
  cluster: number;
  /** Faces of the cluster now named `person`. */
  named: number;
  /** Of those, the faces named `person` before (a cluster named again). */
  already: number;
  /** Faces of the cluster already named as somebody else, left as they were. */
  kept: { person: string; faces: number }[];
  /** Faces of the cluster taken off `person` before (unnameFaces), left out. */
  notThem: number;
}

/** What a writer of the gallery and its library holds while it runs. */
interface Held<S extends LibraryStore | null> {
  gallery: Gallery;
  store: S;
  /** Save the gallery (under the lock held). */
  save(): Promise<void>;
}

/**
 * Run `fn` as the gallery's one writer with its photo library open: the lock taken, the
 * gallery loaded, the library opened (`library: 'required'`: an error without one; 'if-any':
 * null without one) and closed after. The two are brought back together first (linkGallery:
 * a photo searched again, a library photo enrolled by hand), so that the faces asked for are
 * found in both; the gallery saved where its faces moved.
 */
function withGalleryAndLibrary<T>(dir: string, library: 'required', onNotice: ((m: string) => void) | undefined, fn: (held: Held<LibraryStore>) => Promise<T>): Promise<T>;
function withGalleryAndLibrary<T>(dir: string, library: 'if-any', onNotice: ((m: string) => void) | undefined, fn: (held: Held<LibraryStore | null>) => Promise<T>): Promise<T>;
function withGalleryAndLibrary<T, S extends LibraryStore | null>(dir: string, library: 'required' | 'if-any', onNotice: ((m: string) => void) | undefined, fn: (held: Held<S>) => Promise<T>): Promise<T> {
  return withGalleryLock(dir, async (lock) => {
    const gallery = await loadStoredGallery(dir, onNotice);
    const store = library === 'required' || LibraryStore.exists(dir) ? LibraryStore.open(dir) : null;
    try {
      const save = () => saveGallery(dir, gallery, { lock });
      if (store && linkGallery(gallery, store).refreshed) await save();
      // The overloads tie `library` to the store's type: 'required' never leaves it null.
      return await fn({ gallery, store: store as S, save });
    } finally {
      store?.close();
    }
  }, { onWait: onNotice });
}

/**
 * Name cluster `cluster` (from the last `cluster` run) as `person`, as the gallery's one
 * writer. Safe to repeat: faces already in the gallery are not added twice.
 */
export async function nameCluster(dir: string, cluster: number, person: string, onNotice?: (m: string) => void): Promise<NameReport> {
  person = personName(person);
  if (!Number.isSafeInteger(cluster) || cluster < 0) throw new Error(`cluster id must be a non-negative integer, got ${cluster}`);
  return withGalleryAndLibrary(dir, 'required', onNotice, async ({ gallery, store, save }) => {
    gallery.checkNewName(person);
    const faces = store.faces({ cluster });
    if (!faces.length) throw new RemedyError(`${dir}: no cluster ${cluster}`, ' (see the clusters of clusterLibrary)', { case: 'no-cluster', dir });
    const others = new Map<string, number>();
    for (const f of faces) if (f.person && f.person !== person) others.set(f.person, (others.get(f.person) ?? 0) + 1);
    // Faces taken off this person by hand stay off: naming the cluster again does not undo it.
    const notThem = faces.filter((f) => !f.person && f.notPeople.includes(person)).length;
    const mine = faces.filter((f) => f.person === person || (!f.person && !f.notPeople.includes(person)));
    const have = new Set(gallery.faces().map(galleryKey));
    const toAdd = mine.filter((f) => !have.has(libraryKey(f)));
    if (toAdd.length) {
      gallery.addFaces(person, toAdd.map((f) => ({ file: f.path, box: f.box, score: f.score, descriptor: f.descriptor })));
      await save();
    }
    store.namePerson(mine.map((f) => f.id), person);
    const already = mine.filter((f) => f.person === person).length;
    return { person, cluster, named: mine.length, already, kept: [...others].map(([p, n]) => ({ person: p, faces: n })), notThem };
  });
}

export interface FacesReport {
  /** The person the faces were named as (nameFaces), or null (unnameFaces). */
  person: string | null;
  /** Faces that changed. */
  changed: number;
  /** Of those, the faces each person had before (nameFaces: others'; unnameFaces: everyone's). */
  from: { person: string; faces: number }[];
  /** People left with no face, and so gone from the gallery. */
  removed: string[];
}

/** The library's faces of these ids, each once, all of them: an unknown id is an error naming it. */
function facesById(dir: string, store: LibraryStore, ids: readonly number[]): StoredFace[] {
  if (!ids.length) throw new Error(`${dir}: no face ids given`);
  const bad = ids.find((id) => !Number.isSafeInteger(id) || id < 1);
  if (bad !== undefined) throw new Error(`${dir}: face ids are positive whole numbers, got ${bad}`);
  const faces = store.faces({ ids: [...new Set(ids)] });
  const found = new Set(faces.map((f) => f.id));
  const missing = ids.filter((id) => !found.has(id));
  if (missing.length) throw new RemedyError(`${dir}: no face ${missing.join(', ')} in the photo library`, ' (a photo indexed again gets new face ids; see LibraryStore.photoFaces)', { case: 'no-face', dir });
  return faces;
}

/** The gallery's faces that are these library faces, as named in it now (by photo and box). */
function galleryFacesOf(gallery: Gallery, faces: readonly StoredFace[]): number[] {
  const named = new Set(faces.filter((f) => f.person).map((f) => `${f.person}|${libraryKey(f)}`));
  return gallery.faces().filter((g) => named.has(`${g.person}|${galleryKey(g)}`)).map((g) => g.id);
}

/** Of the people faces were taken from, those the gallery no longer has (no face left). */
const leftWithout = (gallery: Gallery, from: readonly { person: string }[]) => {
  const still = new Set(gallery.people().map((p) => p.name));
  return from.map((f) => f.person).filter((p) => !still.has(p));
};

const counts = (faces: readonly StoredFace[]) => {
  const n = new Map<string, number>();
  for (const f of faces) if (f.person) n.set(f.person, (n.get(f.person) ?? 0) + 1);
  return [...n].map(([person, k]) => ({ person, faces: k }));
};

/**
 * Name faces of the photo library one by one (ids as LibraryStore.photoFaces and the cluster
 * sheets give them) as `person`, as the gallery's one writer: each leaves whoever it was named
 * as (in the gallery too) and becomes `person`'s there. The gallery is saved first, then the
 * library: run again after a crash between the two, it finishes.
 */
export async function nameFaces(dir: string, ids: readonly number[], person: string, onNotice?: (m: string) => void): Promise<FacesReport> {
  person = personName(person);
  return withGalleryAndLibrary(dir, 'required', onNotice, async ({ gallery, store, save }) => {
    gallery.checkNewName(person);
    const faces = facesById(dir, store, ids);
    const moving = faces.filter((f) => f.person !== person);
    const have = new Set(gallery.faces().filter((g) => g.person === person).map(galleryKey));
    const toAdd = faces.filter((f) => !have.has(libraryKey(f)));
    const toDrop = galleryFacesOf(gallery, moving);
    if (toDrop.length) gallery.removeFaces(toDrop);
    if (toAdd.length) gallery.addFaces(person, toAdd.map((f) => ({ file: f.path, box: f.box, score: f.score, descriptor: f.descriptor })));
    if (toAdd.length || toDrop.length) await save();
    store.namePerson(moving.map((f) => f.id), person);
    const from = counts(moving);
    return { person, changed: moving.length, from, removed: leftWithout(gallery, from) };
  });
}

/**
 * Take faces of the photo library off whoever they were named as (a stranger's face in a named
 * cluster, say), as the gallery's one writer: they leave that person in the gallery too, and
 * naming a cluster as that person later leaves them out. A person left with no face is gone
 * from the gallery. Gallery first, then library, as nameFaces.
 */
export async function unnameFaces(dir: string, ids: readonly number[], onNotice?: (m: string) => void): Promise<FacesReport> {
  return withGalleryAndLibrary(dir, 'required', onNotice, async ({ gallery, store, save }) => {
    const faces = facesById(dir, store, ids).filter((f) => f.person);
    const toDrop = galleryFacesOf(gallery, faces);
    if (toDrop.length) {
      gallery.removeFaces(toDrop);
      await save();
    }
    store.unnameFaces(faces.map((f) => f.id));
    const from = counts(faces);
    return { person: null, changed: faces.length, from, removed: leftWithout(gallery, from) };
  });
}

/**
 * Of these gallery faces, those cut from a photo of the library at `dir` (named there by
 * nameCluster or nameFaces): gallery face id -> library face id (what nameFaces and
 * unnameFaces take). Empty without a library.
 */
export function libraryIdsOf(dir: string, faces: readonly FaceRecord[]): Map<number, number> {
  const ids = new Map<number, number>();
  if (!LibraryStore.exists(dir)) return ids;
  const store = LibraryStore.open(dir, { readonly: true });
  try {
    const byKey = new Map<string, number>();
    for (const file of new Set(faces.map((f) => f.file))) for (const f of store.photoFaces(file) ?? []) byKey.set(libraryKey(f), f.id);
    for (const f of faces) {
      const id = byKey.get(galleryKey(f));
      if (id !== undefined) ids.set(f.id, id);
    }
    return ids;
  } finally {
    store.close();
  }
}

export interface PersonPhotosReport {
  person: string;
  /** Faces of the person gone from the gallery. */
  faces: number;
  /** Of those, faces of the photo library, now taken off the person there (unnameFaces' rule). */
  libraryFaces: number;
  /** Faces the person has left (0: they are gone from the gallery). */
  left: number;
}

/** Whether a face's file (as it was enrolled: perhaps relative) is `photo` (as given, or resolved). */
const samePhoto = (file: string, photo: string) => file === photo || resolve(file) === resolve(photo);

/**
 * Remove a person's faces cut from these photos (a wrong photo enrolled, or a library photo
 * that is not them), as the gallery's one writer; the person's faces of the photo library in
 * those photos are taken off them there, as unnameFaces does. A photo with no face of theirs
 * is refused, before anything changes. Gallery first, then library, as nameFaces.
 */
export async function removePersonPhotos(dir: string, name: string, photos: readonly string[], onNotice?: (m: string) => void): Promise<PersonPhotosReport> {
  if (!photos.length) throw new Error(`${dir}: no photos given to remove ${name}'s faces from`);
  return withGalleryAndLibrary(dir, 'if-any', onNotice, async ({ gallery, store, save }) => {
    name = lookupName(name, (n) => gallery.hasPerson(n) || !!store?.namedFacesOf(n).length);
    const named = store ? store.namedFacesOf(name).filter((f) => photos.some((p) => samePhoto(f.path, p))) : [];
    const left = gallery.people().find((p) => p.name === name)?.faces ?? 0;
    if (!left && !named.length) throw noPerson(dir, name);
    const { faces: drop, missing } = gallery.personFacesIn(name, photos, samePhoto);
    // A photo of neither: named, before anything changes (a crash between gallery and library leaves the second kind).
    const none = missing.filter((p) => !named.some((f) => samePhoto(f.path, p)));
    if (none.length) throw new RemedyError(`${dir}: ${name} has no face from ${none.join(', ')}`, " (see the person's faces: Gallery.faces())", { case: 'no-photo', dir, person: name });
    if (drop.length) {
      gallery.removeFaces(drop.map((f) => f.id));
      await save();
    }
    const libraryFaces = store && named.length ? store.unnameFaces(named.map((f) => f.id)) : 0;
    return { person: name, faces: drop.length, libraryFaces, left: left - drop.length };
  });
}

/** The person asked for is not in the gallery (nor named in its library). */
const noPerson = (dir: string, name: string) => new RemedyError(`${dir}: no person named "${name}"`, ' (see the people of Gallery.people())', { case: 'no-person', dir });

/**
 * Remove a person and their faces from the gallery, as its one writer; their faces in the
 * photo library become nobody's again (clustering may offer them anew).
 */
export async function removePerson(dir: string, name: string, onNotice?: (m: string) => void): Promise<void> {
  await withGalleryAndLibrary(dir, 'if-any', onNotice, async ({ gallery, store, save }) => {
    name = lookupName(name, (n) => gallery.hasPerson(n) || !!store?.namedFacesOf(n).length);
    const known = gallery.hasPerson(name);
    // Not in the gallery, only in the library: a run stopped between the two, finished now.
    if (!known && !store?.namedFacesOf(name).length) throw noPerson(dir, name);
    if (known) {
      gallery.removePerson(name);
      await save();
    }
    store?.unname(name);
  });
}

export interface RenameReport {
  from: string;
  to: string;
  /** 'merged': `to` was a person already, and now holds `from`'s faces too. */
  result: 'renamed' | 'merged';
  /** The person's faces in the gallery after it (with a merge, both names' together). */
  faces: number;
  /** Faces of the photo library that changed name (0 without a library). */
  libraryFaces: number;
}

/**
 * Rename a person of the gallery (and their faces in its photo library), as its one writer;
 * to the name of another person, the two become one. The gallery is saved first, then the
 * library: run again after a crash between the two, it finishes the library's part.
 */
export async function renamePerson(dir: string, from: string, to: string, onNotice?: (m: string) => void): Promise<RenameReport> {
  to = personName(to);
  return withGalleryAndLibrary(dir, 'if-any', onNotice, async ({ gallery, store, save }) => {
    from = lookupName(from, (n) => gallery.hasPerson(n) || !!store?.namedFacesOf(n).length);
    const known = gallery.hasPerson(from);
    const inLibrary = store ? store.namedFacesOf(from).length : 0;
    if (!known && !inLibrary) throw noPerson(dir, from);
    // Not in the gallery, only in the library: a run stopped between the two, finished now.
    let result: RenameReport['result'] = 'renamed';
    if (known) {
      result = gallery.renamePerson(from, to);
      await save();
    }
    const libraryFaces = store ? store.renamePerson(from, to) : 0;
    return { from, to, result, faces: gallery.people().find((p) => p.name === to)?.faces ?? 0, libraryFaces };
  });
}

export interface LibraryGalleryStats {
  /** Distinct photos: the library's and the enrolled ones outside it. */
  photos: number;
  /** Faces: the library's, and enrolled faces not cut from a library photo. */
  faces: number;
  people: number;
  /** Library faces nobody has named. */
  unlabelled: number;
  library: (LibraryCounts & { clusters: number }) | null;
}

/** The counts `gallery stats` reports for a gallery, with its library when it has one. */
export function libraryGalleryStats(dir: string, gallery: Gallery): LibraryGalleryStats {
  const own = gallery.stats();
  if (!LibraryStore.exists(dir)) return { photos: own.photos, faces: own.faces, people: own.people, unlabelled: 0, library: null };
  const store = LibraryStore.open(dir, { readonly: true });
  try {
    const c = store.counts();
    const outside = store.notInLibrary(gallery.faces());
    return {
      photos: c.photos + new Set(outside.map((f) => f.file)).size,
      faces: c.faces + outside.length,
      people: own.people,
      unlabelled: c.unlabelled,
      library: { ...c, clusters: store.clusters().length },
    };
  } finally {
    store.close();
  }
}
