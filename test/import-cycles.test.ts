// No import cycle in src/: the layers point one way (ARCHITECTURE.md), and a module that
// imports one that imports it back runs against half-initialised bindings. A walk over the
// relative imports of src/**/*.ts, type-only imports included (they are the same arrow for
// the reader, and a cycle through them tends to become a real one).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The relative modules a file imports or re-exports statically (dynamic import() left out: it runs later). */
export function importsOf(file: string, text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  for (const m of code.matchAll(/^\s*(?:import|export)\s+(?:[^'";]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]/gm)) {
    out.push(resolve(dirname(file), m[1]));
  }
  return out;
}

/** Every cycle's files, as found by a depth-first walk (one cycle per back edge). */
export function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

describe('imports in src/', () => {
  it('form no cycle', () => {
    const files = sources(SRC);
    expect(files.length).toBeGreaterThan(50);
    const graph = new Map(files.map((f) => [f, importsOf(f, readFileSync(f, 'utf8'))]));
    const cycles = findCycles(graph).map((c) => c.map((f) => relative(SRC, f)).join(' -> '));
    expect(cycles).toEqual([]);
  });

  it('the walk sees a cycle when there is one', () => {
    const a = '/x/a.ts';
    const b = '/x/b.ts';
    const graph = new Map([
      [a, importsOf(a, "import type { B } from './b.ts';\nimport './c.ts';")],
      [b, importsOf(b, "export { A } from './a.ts';")],
    ]);
    expect(findCycles(graph)).toEqual([[a, b, a]]);
    expect(importsOf(a, "// import { x } from './gone.ts';\nconst m = await import('./late.ts');")).toEqual([]);
  });
});
