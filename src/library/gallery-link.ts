// The gallery and its photo library name the same faces: a gallery face cut from a library
// photo is the library face of that photo at the same box (people-node.ts names them in both).
// Two things pull the pair apart, and linkGallery brings them back together:
// - a library photo whose bytes changed is searched again: its named faces keep their names
//   on new boxes and ids (same-face.ts), while the gallery's faces of it kept the old boxes,
//   so that taking the face off its person by its new id changed the library only (and
//   identify went on naming it);
// - a library photo enrolled by hand (enroll): the gallery names a face that the library
//   has as nobody's, so that the library face could not be taken off anyone.
import { groupBy } from '../group-by.ts';
import type { Gallery } from '../gallery/gallery.ts';
import type { Box } from '../gallery/gallery-format.ts';
import type { FaceEntry, LibraryStore } from './store-node.ts';

/** A library face and a gallery face cut from the same photo at the same box are one face. */
export const libraryKey = (f: { path: string; box: readonly number[] }) => `${f.path}|${f.box.join(',')}`;
export const galleryKey = (f: { file: string; box: readonly number[] }) => `${f.file}|${f.box.join(',')}`;

export interface LinkReport {
  /** Gallery faces moved to where their library face was found again (new box and descriptor). */
  refreshed: number;
  /** Library faces named as the gallery names them (they were nobody's). */
  named: number;
}

/** Of two boxes, how far apart their centres are. */
const apart = (a: Box, b: Box) => Math.hypot(a[0] + a[2] / 2 - (b[0] + b[2] / 2), a[1] + a[3] / 2 - (b[1] + b[3] / 2));

/**
 * Bring the gallery's faces of library photos and the library's names back together (above),
 * as the gallery's one writer: a gallery face whose photo has no face at its box any more
 * takes the box, score and descriptor of that photo's face named as its person that no gallery
 * face is (the nearest, where several); a library face that is nobody's takes the name of the
 * gallery face at its box. Changes the library itself; the caller saves the gallery where
 * `refreshed`.
 */
export function linkGallery(gallery: Gallery, store: LibraryStore): LinkReport {
  const report: LinkReport = { refreshed: 0, named: 0 };
  const byFile = groupBy(gallery.faces(), (f) => f.file);
  const photos = store.facesOfPhotos([...byFile.keys()]);
  const refresh: { id: number; face: FaceEntry }[] = [];
  const toName = new Map<string, number[]>();
  for (const [file, faces] of byFile) {
    const photo = photos.get(file);
    if (!photo) continue;
    const atBox = new Map(photo.map((f) => [libraryKey(f), f]));
    const linked = new Set<number>();
    const unlinked: typeof faces = [];
    for (const g of faces) {
      const f = atBox.get(galleryKey(g));
      if (!f) {
        unlinked.push(g);
        continue;
      }
      linked.add(f.id);
      if (f.person === null) toName.set(g.person, [...(toName.get(g.person) ?? []), f.id]);
    }
    for (const g of unlinked) {
      const free = photo.filter((f) => f.person === g.person && !linked.has(f.id));
      if (!free.length) continue;
      const f = free.reduce((a, b) => (apart(b.box, g.box) < apart(a.box, g.box) ? b : a));
      linked.add(f.id);
      refresh.push({ id: g.id, face: f });
    }
  }
  if (refresh.length) {
    const stored = new Map(store.faces({ ids: refresh.map((r) => r.face.id) }).map((f) => [f.id, f]));
    report.refreshed = gallery.refreshFaces(refresh.map(({ id, face }) => ({ id, box: face.box, score: face.score, descriptor: stored.get(face.id)!.descriptor })));
  }
  for (const [person, ids] of toName) report.named += store.namePerson(ids, person);
  return report;
}
