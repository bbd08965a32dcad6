// `search`: the photos of the library in which the person of a face appears, best first
// (Node). The face's descriptor is compared with every stored face through the search index
// (approximate nearest neighbours, then exact similarities), kept above the verification
// threshold (one face against one face, the gallery's calibration at the FAR asked), one hit
// per photo (its best face). When the face is also identified as a named person (enrolled,
// or a cluster the user named), that person's named faces are added, wherever the index
// ranked them.
//
// `searchLibraryForPerson`: the photos of a named person, no photo needed: their named faces,
// and the faces identify would name them (the person's template searched through the index,
// each candidate identified at the FAR asked), best first by similarity to the template.
import { lookupName } from '../identity/face-gallery.ts';
import type { Gallery, MatchOptions } from '../gallery/gallery.ts';
import type { Box } from '../gallery/gallery-format.ts';
import { normalise } from '../gallery/normalise.ts';
import { dot } from '../gallery/pair-scores.ts';
import type { VectorIndex } from '../gallery/vector-index.ts';
import type { LibraryStore, StoredFace } from './store-node.ts';

export interface PhotoHit {
  file: string;
  similarity: number;
  /** The matching face in that photo: its id in the library (for nameFaces, unnameFaces) and box. */
  face: number;
  box: Box;
  /** Its name, when someone named it. */
  person: string | null;
}

export interface SearchResult {
  threshold: number;
  /** Who the query face is, when the gallery knows (identify at the same FAR). */
  person: string | null;
  photos: PhotoHit[];
}

export interface SearchOptions extends MatchOptions {
  /** Photos returned at most (default 20). */
  top?: number;
}

/**
 * Candidates asked of the index at least: an approximate index (int8 above all) orders its
 * candidates only roughly, so the best faces are picked from many by their exact similarity.
 * `facegpu bench gallery` measures recall with the same number.
 */
export const MIN_CANDIDATES = 64;

export function searchLibrary(store: LibraryStore, index: VectorIndex, gallery: Gallery, raw: Float32Array, opts: SearchOptions = {}): SearchResult {
  const top = opts.top ?? 20;
  if (!Number.isInteger(top) || top < 1) throw new Error(`search: "top" must be a positive integer, got ${top}`);
  const threshold = opts.threshold ?? gallery.thresholdFor('verify', opts.far ?? 0.01).threshold;
  const q = normalise(raw, gallery.dim, gallery.normalisation);
  const person = gallery.people().length ? gallery.identify(raw, { ...opts, top: 1 })[0].label : null;
  // Several faces of one photo, and an approximate index, ask for more faces than photos.
  const k = Math.min(index.size, Math.max(4 * top, MIN_CANDIDATES));
  const ids = k ? index.search(q, k)[0].keys : [];
  const named = person ? store.namedFacesOf(person).map((f) => f.id) : [];
  const faces = store.faces({ ids: [...new Set([...ids, ...named])] });
  // A face taken off that person by hand (unnameFaces) is not theirs, however alike.
  const notTheirs = (f: StoredFace) => person !== null && f.notPeople.includes(person);
  return { threshold, person, photos: bestPerPhoto(q, faces, gallery, top, (f, s) => !notTheirs(f) && (s >= threshold || (person !== null && f.person === person))) };
}

/**
 * The photos of `person` (enrolled, or a cluster the user named): their named faces, and the
 * unnamed faces that identify would name them at the FAR (or threshold) asked, found among the
 * faces nearest their template. Similarities are to the template; `threshold` is identify's.
 */
export function searchLibraryForPerson(store: LibraryStore, index: VectorIndex, gallery: Gallery, person: string, opts: SearchOptions = {}): SearchResult {
  const top = opts.top ?? 20;
  if (!Number.isInteger(top) || top < 1) throw new Error(`search: "top" must be a positive integer, got ${top}`);
  person = lookupName(person, (n) => gallery.hasPerson(n));
  const q = gallery.template(person);
  const threshold = opts.threshold ?? gallery.thresholdFor('identify', opts.far ?? 0.01).threshold;
  const k = Math.min(index.size, Math.max(4 * top, MIN_CANDIDATES));
  const near = k ? index.search(q, k)[0].keys : [];
  const named = store.namedFacesOf(person).map((f) => f.id);
  const faces = store.faces({ ids: [...new Set([...near, ...named])] });
  // Unnamed candidates are the person's where identify says so: their template is the best
  // and above the threshold; not those taken off the person by hand (unnameFaces).
  const unnamed = faces.filter((f) => f.person === null && !f.notPeople.includes(person));
  const labels = unnamed.length ? gallery.identify(unnamed.map((f) => f.descriptor), { ...opts, top: 1 }).map((r) => r.label) : [];
  const theirs = new Set(unnamed.filter((_, i) => labels[i] === person).map((f) => f.id));
  return { threshold, person, photos: bestPerPhoto(q, faces, gallery, top, (f) => f.person === person || theirs.has(f.id)) };
}

/**
 * Of the faces `keep` takes (given each one's similarity to the unit vector `q`, in the
 * gallery's normalisation), each photo's most similar, as hits: best first (ties by file),
 * `top` at most.
 */
function bestPerPhoto(q: Float32Array, faces: readonly StoredFace[], gallery: Gallery, top: number, keep: (f: StoredFace, similarity: number) => boolean): PhotoHit[] {
  const best = new Map<string, PhotoHit>();
  for (const f of faces) {
    const s = dot(q, 0, normalise(f.descriptor, gallery.dim, gallery.normalisation), 0, gallery.dim);
    if (!keep(f, s)) continue;
    const old = best.get(f.path);
    if (!old || s > old.similarity) best.set(f.path, { file: f.path, similarity: s, face: f.id, box: f.box, person: f.person });
  }
  return [...best.values()].sort((a, b) => b.similarity - a.similarity || (a.file < b.file ? -1 : 1)).slice(0, top);
}
