// "Library code never names CLI flags": no string in src/ outside src/cli/ names a flag
// (`--` and a lowercase letter) or a command (`facegpu <command>`). A library message speaks
// of API options, functions and files; the CLI words them as flags and commands itself
// (src/cli/README.md, "Errors across the library/CLI line"). Comments may name anything: the
// literals are found by a small tokenizer that skips comments and regular expressions
// (test/helpers/cli-names.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_DIR, cliCommands, literalsOf, SRC, violations } from './helpers/cli-names.ts';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return path === CLI_DIR ? [] : sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

describe('library code never names CLI flags', () => {
  const commands = cliCommands();

  it('finds the commands the CLI registers', () => {
    expect(commands).toEqual(expect.arrayContaining(['embed', 'train', 'predict', 'eval', 'enroll', 'identify', 'verify', 'gallery', 'index', 'worker', 'search', 'cluster', 'tune', 'weights', 'demo']));
  });

  it('no string literal in src/ outside src/cli/ names a flag or a command', () => {
    const files = sources(SRC);
    expect(files.length).toBeGreaterThan(50);
    const found = files.flatMap((f) => violations(readFileSync(f, 'utf8'), relative(SRC, f), commands));
    expect(found).toEqual([]);
  });

  it('sees a flag or command in strings and templates, not in comments or regular expressions', () => {
    const planted = [
      '// raise it with --max-pixels (a comment may name flags)',
      '/* or facegpu index <photos> --gallery g */',
      "const a = 'raise it with --max-pixels';",
      'const b = "see --backbone <dir>";',
      'const c = `train one: facegpu train <data> --out ${dir}`;',
      'const d = `${x}: index photos first (facegpu index ${y})`;',
      'const e = `outer ${`inner --seed ${n}`} done`;',
      "const f = x / 2 + y / 3; const g = /--not-a-literal/.test(s) ? 'ok' : 'a facegpu gallery';",
      "const h = { k: `${{ a: 1 }.a}` }; const i = 'this facegpu reads version 2';",
      "if (m) return /'/.test(s); const j = 'facegpu worker --queue';",
    ].join('\n');
    expect(violations(planted, 'planted.ts', commands)).toEqual([
      'planted.ts:3: "raise it with --max-pixels" names --max-pixels',
      'planted.ts:4: "see --backbone <dir>" names --backbone',
      'planted.ts:5: "train one: facegpu train <data> --out ${…}" names --out',
      'planted.ts:6: "${…}: index photos first (facegpu index ${…})" names facegpu index',
      'planted.ts:7: "inner --seed ${…}" names --seed',
      'planted.ts:10: "facegpu worker --queue" names --queue',
    ]);
    expect(literalsOf(planted).map((l) => l.text)).toContain('outer ${…} done');
  });
});
