// The WGSL sources, read from shaders/ (Node). The browser build bundles the same files as
// strings instead (see src/browser).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ShaderSources } from './runner.ts';

export const SHADER_DIR = fileURLToPath(new URL('../../shaders/', import.meta.url));

let cached: ShaderSources | null = null;

export function loadShaders(): ShaderSources {
  if (!cached) {
    const out: Record<string, string> = {};
    for (const f of readdirSync(SHADER_DIR)) if (f.endsWith('.wgsl')) out[f.slice(0, -5)] = readFileSync(SHADER_DIR + f, 'utf8');
    cached = Object.freeze(out);
  }
  return cached;
}
