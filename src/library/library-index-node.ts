// Which vector index holds a photo library's faces (Node). A library can reach a million faces,
// so this is the choice measured by `facegpu bench gallery` (bench/README.md), separate from
// the enrolled people's small template index (src/gallery/index-node.ts).
import { nodeIndexProviders } from '../gallery/index-node.ts';
import type { IndexProvider } from '../gallery/vector-index.ts';

export function libraryIndexProvider(): IndexProvider {
  return nodeIndexProviders[0];
}
