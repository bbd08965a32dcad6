// Which vector index holds a photo library's faces (Node). A library can reach a million faces,
// so this is the choice measured by `facegpu bench gallery` (bench/README.md, "A million
// faces"): USearch HNSW with float16 storage (LIBRARY_INDEX), separate from the enrolled
// people's small template index (src/gallery/index-node.ts). Search re-scores its candidates
// on the stored float32 descriptors (search-node.ts). Where USearch's binary cannot load,
// the exact FlatIndex, as for galleries.
import { nodeIndexProviders } from '../gallery/index-node.ts';
import type { IndexProvider } from '../gallery/vector-index.ts';

let usearch: IndexProvider | null = null;
try {
  usearch = (await import('../gallery/usearch-index-node.ts')).libraryIndexProvider;
} catch {
  // index-node.ts says why (usearchUnavailable); galleries fall back the same way.
}

export function libraryIndexProvider(): IndexProvider {
  return usearch ?? nodeIndexProviders[nodeIndexProviders.length - 1];
}
