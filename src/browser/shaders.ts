/// <reference types="vite/client" />
// The WGSL sources for the browser build: the same shaders/*.wgsl files the Node build reads
// from disk, bundled into the JavaScript as strings by Vite at build time.
import type { ShaderSources } from '../gpu/runner.ts';

const files = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

/** {name: source}, name being the file name without ".wgsl" (what KernelRunner looks up). */
export const SHADERS: ShaderSources = Object.freeze(
  Object.fromEntries(Object.entries(files).map(([path, source]) => [path.slice(path.lastIndexOf('/') + 1, -'.wgsl'.length), source])),
);
