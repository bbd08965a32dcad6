// The vector indexes a gallery can use in a page: only the exact FlatIndex (TypeScript, no
// native code). A gallery written in Node with USearch is rebuilt with it on load, and says so.
import { flatIndexProvider } from './flat-index.ts';
import type { IndexProvider } from './vector-index.ts';

export const browserIndexProviders: readonly IndexProvider[] = [flatIndexProvider];
