// Which vector index holds a photo library's faces (Node). A library can reach a million faces,
// so this is the choice measured by `facegpu bench gallery` (bench/README.md, "A million
// faces"): USearch HNSW with int8 storage (LIBRARY_INDEX), separate from the enrolled
// people's small template index (src/gallery/index-node.ts). Search re-scores its candidates
// on the stored float32 descriptors (search-node.ts). Where USearch's binary cannot load,
// the exact FlatIndex, as for galleries.
import * as u from '../gallery/usearch-index-node.ts';
import { nodeIndexProviders } from '../gallery/index-node.ts';
import type { IndexProvider } from '../gallery/vector-index.ts';

/**
 * The search expansion for a stored face's neighbours (clustering's graph). A stored face is
 * an easy query (its own person's faces are close to it), unlike a new photo's face: on 300k
 * drawn faces (int8, 32 links), 128 found 99.8% of each face's exact neighbours under the
 * clustering's epsilon, 1024 (the library's search) 99.9%, for 5x the time (1.4 vs 6.9 ms per
 * face; src/library/README.md, "Cost").
 */
export const NEIGHBOUR_EXPANSION = 128;

let usearch: { search: IndexProvider; neighbours: IndexProvider } | null = null;
try {
  u.usearchModule(); // the native addon, loaded synchronously (no top-level await)
  usearch = { search: u.libraryIndexProvider, neighbours: u.usearchProvider({ ...u.LIBRARY_INDEX, expansionSearch: NEIGHBOUR_EXPANSION }) };
} catch {
  // index-node.ts says why (usearchUnavailable); galleries fall back the same way.
}

const exact = () => nodeIndexProviders[nodeIndexProviders.length - 1];

/** The library's search index: new faces searched among all (a user's search). */
export function libraryIndexProvider(): IndexProvider {
  return usearch?.search ?? exact();
}

/** The same index searched narrower, for stored faces' neighbours (clustering). */
export function neighbourIndexProvider(): IndexProvider {
  return usearch?.neighbours ?? exact();
}
