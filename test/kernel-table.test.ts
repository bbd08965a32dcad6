// The tables of src/kernels/README.md and shaders/README.md stay true to the code: every
// shaders/*.wgsl file is a kernel that an op builder names (`shader: '...'` anywhere in src/)
// or is included, directly or through another include, by such a kernel; every shader a
// builder names and every file a shader includes exists; every .wgsl file has its row in
// shaders/README.md, naming the builder file that uses it or the shaders that include it;
// every op builder file has its row in src/kernels/README.md, with the shaders it names.
// No GPU: the sources are read as text.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SHADERS = join(ROOT, 'shaders');
const SRC = join(ROOT, 'src');
const KERNELS = join(SRC, 'kernels');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The shader names in a TypeScript source's `shader:` properties: every quoted name of the expression (`shader: vec4 ? 'rmsprop' : 'rmsprop_scalar'` names both). */
export function shadersNamedIn(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  for (const m of code.matchAll(/\bshader:\s*([^,{};\n]+)/g)) for (const q of m[1].matchAll(/'(\w+)'/g)) out.push(q[1]);
  return out;
}

/** The files a shader includes: the lines the runner expands (src/gpu/runner.ts, KernelRunner.body: exactly `// #include name`). */
export function includesOf(wgsl: string): string[] {
  return [...wgsl.matchAll(/^\/\/ #include (\w+)$/gm)].map((m) => m[1]);
}

/**
 * What is wrong between the shader files, the builders' names and a README table: files no
 * kernel reaches (named, or included from a named kernel, transitively), named or included
 * files that do not exist, files without a row in the table.
 */
export function tableDrift(shaders: Record<string, string>, named: Map<string, string[]>, readme: string): string[] {
  const problems: string[] = [];
  const reached = new Set<string>();
  const visit = (name: string, from: string) => {
    if (!(name in shaders)) {
      problems.push(`${from} names shaders/${name}.wgsl, which does not exist`);
      return;
    }
    if (reached.has(name)) return;
    reached.add(name);
    for (const inc of includesOf(shaders[name])) visit(inc, `shaders/${name}.wgsl`);
  };
  for (const [name, files] of named) visit(name, files.join(', '));
  for (const name of Object.keys(shaders).sort()) {
    if (!reached.has(name)) problems.push(`shaders/${name}.wgsl is used by nothing: no op builder names it and no used shader includes it`);
    if (!readme.includes(`| \`${name}.wgsl\` |`)) problems.push(`shaders/${name}.wgsl has no row in shaders/README.md`);
  }
  for (const m of readme.matchAll(/^\| `(\w+)\.wgsl` \|/gm)) if (!(m[1] in shaders)) problems.push(`shaders/README.md has a row for ${m[1]}.wgsl, which does not exist`);
  return problems;
}

function shaderFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(SHADERS)) if (f.endsWith('.wgsl')) out[f.slice(0, -5)] = readFileSync(join(SHADERS, f), 'utf8');
  return out;
}

/** Shader name -> the src/ files (relative) whose `shader:` names it. */
function namedShaders(files: string[]): Map<string, string[]> {
  const named = new Map<string, string[]>();
  for (const file of files) {
    for (const name of shadersNamedIn(readFileSync(file, 'utf8'))) {
      const rel = file.slice(ROOT.length);
      named.set(name, [...new Set([...(named.get(name) ?? []), rel])]);
    }
  }
  return named;
}

/** The row of a table (a line starting with `| first |`) in a README. */
const rowOf = (readme: string, first: string) => readme.split('\n').find((l) => l.startsWith(`| ${first} |`));

describe('the table of kernels', () => {
  const shaders = shaderFiles();
  const named = namedShaders(tsFiles(SRC));
  const shadersReadme = readFileSync(join(SHADERS, 'README.md'), 'utf8');
  const kernelsReadme = readFileSync(join(KERNELS, 'README.md'), 'utf8');

  it('every shader file is used (named by an op builder, or included by a used shader), every named or included shader exists, every one has its row in shaders/README.md', () => {
    expect(Object.keys(shaders).length).toBeGreaterThan(20);
    expect(named.size).toBeGreaterThan(15);
    expect(tableDrift(shaders, named, shadersReadme)).toEqual([]);
  });

  it("shaders/README.md's rows name the builder file that names each kernel and every shader that includes each include", () => {
    const problems: string[] = [];
    for (const [name, files] of named) {
      const row = rowOf(shadersReadme, `\`${name}.wgsl\``) ?? '';
      for (const f of files) if (f.startsWith('src/kernels/') && !row.includes(`\`${basename(f)}\``)) problems.push(`${name}.wgsl: its row does not name ${basename(f)}`);
    }
    for (const [name, text] of Object.entries(shaders)) {
      for (const inc of includesOf(text)) {
        const row = rowOf(shadersReadme, `\`${inc}.wgsl\``) ?? '';
        if (!new RegExp(`included by [^|]*\\b${name}\\b`).test(row)) problems.push(`${inc}.wgsl: its row does not say it is included by ${name}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every op builder file of src/kernels/ has its row in src/kernels/README.md, with every shader it names', () => {
    const problems: string[] = [];
    for (const file of tsFiles(KERNELS)) {
      const name = basename(file);
      if (name === 'common.ts') continue;
      const at = kernelsReadme.split('\n').findIndex((l) => l.startsWith(`| \`${name}\` `));
      if (at < 0) {
        problems.push(`src/kernels/${name} has no row in src/kernels/README.md`);
        continue;
      }
      // The file's row and the continuation rows after it (first cell empty).
      const rows = [kernelsReadme.split('\n')[at]];
      for (const l of kernelsReadme.split('\n').slice(at + 1)) {
        if (!l.startsWith('| |')) break;
        rows.push(l);
      }
      for (const shader of shadersNamedIn(readFileSync(file, 'utf8'))) {
        if (!rows.some((r) => r.includes(`\`${shader}\``))) problems.push(`src/kernels/${name} names ${shader}, which its rows in src/kernels/README.md do not`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the checks find drift when there is some', () => {
    expect(shadersNamedIn("kernel: { shader: vec4 ? 'rmsprop' : 'rmsprop_scalar', constants: { WG } },\n// shader: 'old'\n  shader: string;")).toEqual(['rmsprop', 'rmsprop_scalar']);
    expect(includesOf('// #include a\n// Included with `// #include b`; not a kernel.\n//  #include c\n// #include d')).toEqual(['a', 'd']);
    const files = { k: '// #include inc\nfn main() {}', inc: '', stray: '// #include inc', orphan_inc: '' };
    const readme = '| `k.wgsl` |\n| `inc.wgsl` |\n| `stray.wgsl` |\n| `gone.wgsl` |\n';
    expect(tableDrift(files, new Map([['k', ['src/kernels/k.ts']], ['missing', ['src/kernels/m.ts']]]), readme)).toEqual([
      'src/kernels/m.ts names shaders/missing.wgsl, which does not exist',
      'shaders/orphan_inc.wgsl is used by nothing: no op builder names it and no used shader includes it',
      'shaders/orphan_inc.wgsl has no row in shaders/README.md',
      'shaders/stray.wgsl is used by nothing: no op builder names it and no used shader includes it',
      'shaders/README.md has a row for gone.wgsl, which does not exist',
    ]);
  });
});
