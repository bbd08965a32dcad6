// Rules every shaders/*.wgsl keeps because a driver's compiler made them matter (shaders/README.md,
// "Conditions: `&` and `|`"). No GPU: the sources are read as text.
//
// Conditions combine with `&` and `|`, never `&&` or `||`. Tint turns a short-circuit operator
// into branches, and SwiftShader's compiler takes time exponential in the branches of a
// written-out loop: BlazeFace's 5x5 stem (conv2d_subgroup, 8 pixels per lane, 4 bounds tests
// per tap and pixel joined by `&&`) took 21-25 s to create on SwiftShader, in every process
// (its compiles are not kept between runs), and 0.18 s with `&`.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SHADERS = fileURLToPath(new URL('../shaders/', import.meta.url));

/** The lines of a WGSL text that use `&&` or `||` outside comments, as "name:line: text". */
export function shortCircuits(name: string, wgsl: string): string[] {
  // Block comments keep their line breaks, so that line numbers stay right.
  const code = wgsl.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '));
  const out: string[] = [];
  code.split('\n').forEach((line, i) => {
    const text = line.replace(/\/\/.*$/, '');
    if (/&&|\|\|/.test(text)) out.push(`${name}:${i + 1}: ${text.trim()}`);
  });
  return out;
}

describe('shader rules', () => {
  it('no shader joins conditions with && or || (SwiftShader compiles their branches in exponential time)', () => {
    const files = readdirSync(SHADERS).filter((f) => f.endsWith('.wgsl'));
    expect(files.length).toBeGreaterThan(20);
    const found = files.flatMap((f) => shortCircuits(f, readFileSync(join(SHADERS, f), 'utf8')));
    expect(found).toEqual([]);
  });

  it('the check finds && and || in code, not in comments', () => {
    const wgsl = ['// a && b is fine here', 'let ok = (a >= 0) & (b < n);', 'if (a < 0 || a >= n) { return; }', '/* x && y', '   still a comment */ let q = p && r; // and || here'].join('\n');
    expect(shortCircuits('k.wgsl', wgsl)).toEqual(['k.wgsl:3: if (a < 0 || a >= n) { return; }', 'k.wgsl:5: let q = p && r;']);
  });
});
