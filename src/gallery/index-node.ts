// The vector indexes a gallery can use in Node, the preferred one first. A gallery records
// the kind it was written with; loading one whose kind is not listed here rebuilds it with the
// first (src/gallery/README.md says why USearch). USearch is native: where its prebuilt binary
// does not load (an unsupported platform), galleries fall back to the exact FlatIndex instead
// of failing to open; `usearchUnavailable` says why.
import { flatIndexProvider } from './flat-index.ts';
import { usearchIndexProvider, usearchModule } from './usearch-index-node.ts';
import type { IndexProvider } from './vector-index.ts';

let usearch: IndexProvider | null = null;
export let usearchUnavailable: string | null = null;
try {
  usearchModule(); // the native addon, loaded now: synchronously, so no top-level await
  usearch = usearchIndexProvider;
} catch (err) {
  usearchUnavailable = `usearch could not be loaded (${(err as Error).message.split('\n')[0]})`;
}

export const nodeIndexProviders: readonly IndexProvider[] = usearch ? [usearch, flatIndexProvider] : [flatIndexProvider];

/** The index new galleries get in Node. */
export const defaultNodeIndex: IndexProvider = nodeIndexProviders[0];
