// Loop unrolling of marked WGSL loops, done when a kernel's source is assembled (runner.ts).
//
// Why: a kernel keeps its register tile in small arrays (`acc[t][g]`) walked by loops with
// compile-time trip counts (TP pixels, SG lanes). Mesa's compiler (lavapipe) unrolls such
// loops itself and keeps the arrays in registers. SwiftShader does not: the SPIR-V optimizer
// it runs unrolls only loops that carry an Unroll hint, which WGSL cannot express, so the
// arrays stay in memory, every access to them becomes a per-lane gather or scatter, and a
// subgroupShuffle from a lane the loop computes becomes a compare-and-select over all lanes.
// Written out with constant indices, the same code keeps the tile in registers there too.
//
// A loop is unrolled when the line before it is `// #unroll` and it reads exactly
//     for (var NAME = 0u; NAME < BOUND; NAME++) {
// with BOUND an integer literal (`4u`), one of the kernel's constants, or a module-scope
// `const NAME = <expression>;` of literals and constants with + - * / % and parentheses (e.g.
// `const IN_COLS = (TC - 1u) * STRIDE + 3u;`). Its body is copied
// BOUND times, each copy a block that starts with `const NAME = <i>u;`, so indices and
// shuffle lanes computed from NAME are constant expressions. Marked loops may nest. A body
// with `break` or `continue` is refused (a copy cannot leave the loop).

const MARK = /^[ \t]*\/\/ #unroll[ \t]*\n/m;
const HEADER = /^([ \t]*)for \(var (\w+) = 0u; (\w+) < (\w+); (\w+)\+\+\) \{[ \t]*\n/;

/** Largest trip count unrolled: a guard against a constant that would bloat the shader. */
export const MAX_UNROLL = 64;

export function unrollLoops(source: string, constants: Readonly<Record<string, number>>, shader: string): string {
  if (!MARK.test(source)) return source;
  return unroll(source, { ...moduleConstants(source, constants), ...constants }, shader);
}

/** The module-scope `const NAME = expr;` whose expression is made of literals and known constants. */
function moduleConstants(source: string, constants: Readonly<Record<string, number>>): Record<string, number> {
  const known: Record<string, number> = { ...constants };
  for (const m of source.matchAll(/^const (\w+)(?:\s*:\s*u32)?\s*=\s*([^;]+);/gm)) {
    const [, name, expr] = m;
    let ok = true;
    const arithmetic = expr.replace(/\b(\d+)u\b/g, '$1').replace(/\b[A-Za-z_]\w*\b/g, (id) => {
      if (known[id] === undefined) ok = false;
      return String(known[id]);
    });
    const value = ok ? evaluate(arithmetic) : null;
    if (value !== null && value >= 0) known[name] = value;
  }
  return known;
}

/** An integer expression of + - * / % and parentheses (no eval: the page may forbid it); null if it is anything else. */
function evaluate(expr: string): number | null {
  const tokens = expr.match(/\d+|[+\-*/%()]|\S/g) ?? [];
  let i = 0;
  const primary = (): number | null => {
    const tok = tokens[i++];
    if (tok === '(') {
      const v = sum();
      return tokens[i++] === ')' ? v : null;
    }
    return tok !== undefined && /^\d+$/.test(tok) ? Number(tok) : null;
  };
  const product = (): number | null => {
    let v = primary();
    while (v !== null && (tokens[i] === '*' || tokens[i] === '/' || tokens[i] === '%')) {
      const op = tokens[i++];
      const r = primary();
      // u32 arithmetic: division truncates; by zero is not a constant WGSL would accept.
      v = r === null || (op !== '*' && r === 0) ? null : op === '*' ? v * r : op === '/' ? Math.trunc(v / r) : v % r;
    }
    return v;
  };
  const sum = (): number | null => {
    let v = product();
    while (v !== null && (tokens[i] === '+' || tokens[i] === '-')) {
      const op = tokens[i++];
      const r = product();
      v = r === null ? null : op === '+' ? v + r : v - r;
    }
    return v;
  };
  const v = sum();
  return i === tokens.length ? v : null;
}

function unroll(source: string, constants: Readonly<Record<string, number>>, shader: string): string {
  let out = '';
  let rest = source;
  for (;;) {
    const mark = MARK.exec(rest);
    if (!mark) return out + rest;
    out += rest.slice(0, mark.index);
    const after = rest.slice(mark.index + mark[0].length);
    // Named by its own text: a line number would count the included files' lines too.
    const loop = `"${after.split('\n', 1)[0].trim()}"`;
    const h = HEADER.exec(after);
    if (!h || h[2] !== h[3] || h[2] !== h[5]) {
      throw new Error(`shaders/${shader}.wgsl: the loop after "// #unroll", ${loop}, must read "for (var i = 0u; i < N; i++) {" with N a literal or a constant`);
    }
    const [header, indent, name, , boundName] = h;
    const bound = /^\d+u?$/.test(boundName) ? Number.parseInt(boundName, 10) : constants[boundName];
    if (bound === undefined) throw new Error(`shaders/${shader}.wgsl: the bound "${boundName}" of the loop ${loop} is neither a literal nor one of the kernel's constants`);
    if (bound > MAX_UNROLL) throw new Error(`shaders/${shader}.wgsl: the loop ${loop} would be unrolled ${bound} times (at most ${MAX_UNROLL})`);
    const bodyStart = header.length;
    const close = matchingBrace(after, header.lastIndexOf('{'));
    if (close < 0) throw new Error(`shaders/${shader}.wgsl: the loop ${loop} has no closing brace`);
    const body = after.slice(bodyStart, close);
    if (/\b(break|continue)\b/.test(body)) throw new Error(`shaders/${shader}.wgsl: the loop ${loop} uses break or continue`);
    const inner = unroll(body, constants, shader);
    for (let i = 0; i < bound; i++) out += `${indent}{\n${indent}  const ${name} = ${i}u;\n${inner}${indent}}\n`;
    // Drop the loop's closing brace and the rest of its line.
    const eol = after.indexOf('\n', close);
    rest = eol < 0 ? '' : after.slice(eol + 1);
  }
}

/** Index of the `}` matching the `{` at `open` (comments and strings are not special in our shaders' bodies). */
function matchingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (ch === '/' && text[i + 1] === '/') {
      const eol = text.indexOf('\n', i);
      if (eol < 0) return -1;
      i = eol;
    } else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return i;
  }
  return -1;
}
