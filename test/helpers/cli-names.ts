// Strings of TypeScript source that name the CLI's flags or commands: a small tokenizer (string
// and template literals; comments and regular expressions skipped), the commands src/cli
// registers, and the patterns of a flag (`--` and a lowercase letter) and of a command
// (`facegpu <command>`). Used by test/library-flags.test.ts and test/cli-remedies.test.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
export const CLI_DIR = join(SRC, 'cli');

export interface Literal {
  /** The text between the quotes; a template's substitutions read `${…}`. */
  text: string;
  line: number;
}

/** After these, a `/` starts a regular expression (after a name, number or bracket it divides). */
const BEFORE_REGEX_WORDS = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw', 'yield', 'await', 'instanceof']);

/**
 * The string and template literals of TypeScript source, comments skipped. Enough of a
 * tokenizer for this check: strings, templates (nested through `${}`), comments and regular
 * expressions are told apart; everything else is skipped a character at a time.
 */
export function literalsOf(src: string): Literal[] {
  const out: Literal[] = [];
  let i = 0;
  let line = 1;
  /** The last significant character or word of code, to tell a regular expression from a division. */
  let prev = '';
  /** Open template substitutions: the brace depth at which each `${` was opened. */
  const templates: number[] = [];
  let depth = 0;
  const step = () => {
    if (src[i] === '\n') line++;
    i++;
  };
  const readTemplate = (startLine: number, parts: string[]) => {
    // i is just after a ` or the } closing a substitution.
    let text = '';
    while (i < src.length) {
      const c = src[i];
      if (c === '\\') {
        text += c + src[i + 1];
        step();
        step();
      } else if (c === '`') {
        step();
        out.push({ text: [...parts, text].join('${…}'), line: startLine });
        prev = '`';
        return;
      } else if (c === '$' && src[i + 1] === '{') {
        step();
        step();
        parts.push(text);
        templates.push(depth);
        pending.push({ parts, line: startLine });
        depth++;
        prev = '{';
        return;
      } else {
        text += c;
        step();
      }
    }
    throw new Error(`unterminated template literal from line ${startLine}`);
  };
  /** The templates whose substitution is open, innermost last. */
  const pending: { parts: string[]; line: number }[] = [];
  while (i < src.length) {
    const c = src[i];
    const next = src[i + 1];
    if (c === '/' && next === '/') {
      while (i < src.length && src[i] !== '\n') step();
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw new Error(`unterminated comment at line ${line}`);
      while (i < end + 2) step();
    } else if (c === "'" || c === '"') {
      const startLine = line;
      step();
      let text = '';
      while (i < src.length && src[i] !== c) {
        if (src[i] === '\n') throw new Error(`unterminated string at line ${startLine}`);
        if (src[i] === '\\') {
          text += src[i];
          step();
        }
        text += src[i];
        step();
      }
      step();
      out.push({ text, line: startLine });
      prev = c;
    } else if (c === '`') {
      const startLine = line;
      step();
      readTemplate(startLine, []);
    } else if (c === '/' && !/[\w$)\]}'"`]$/.test(prev) || (c === '/' && BEFORE_REGEX_WORDS.has(prev))) {
      // A regular expression: to the closing / outside a character class, then its flags.
      step();
      let inClass = false;
      while (i < src.length && (inClass || src[i] !== '/')) {
        if (src[i] === '\n') throw new Error(`unterminated regular expression at line ${line}`);
        if (src[i] === '\\') step();
        else if (src[i] === '[') inClass = true;
        else if (src[i] === ']') inClass = false;
        step();
      }
      step();
      while (/[a-z]/.test(src[i] ?? '')) step();
      prev = ')';
    } else if (/[A-Za-z_$0-9]/.test(c)) {
      let word = '';
      while (i < src.length && /[\w$]/.test(src[i])) {
        word += src[i];
        step();
      }
      prev = word;
    } else if (c === '{') {
      depth++;
      prev = c;
      step();
    } else if (c === '}') {
      depth--;
      step();
      if (templates.length && templates[templates.length - 1] === depth) {
        templates.pop();
        const t = pending.pop()!;
        readTemplate(t.line, t.parts);
      } else prev = c;
    } else {
      if (!/\s/.test(c)) prev = c;
      step();
    }
  }
  return out;
}

/** The facegpu commands: what src/cli registers on the program (`program.command('x')`). */
export function cliCommands(): string[] {
  const names = new Set<string>();
  for (const f of readdirSync(CLI_DIR)) {
    if (!f.endsWith('.ts')) continue;
    for (const m of readFileSync(join(CLI_DIR, f), 'utf8').matchAll(/\bprogram\s*\.command\('([a-z-]+)'/g)) names.add(m[1]);
  }
  return [...names].sort();
}

/** What in `text` names a CLI flag or command, or null. "a facegpu gallery" is a noun, not the command. */
export function cliNameIn(text: string, commands: readonly string[]): string | null {
  const flag = /(?<![\w-])--[a-z][\w-]*/.exec(text);
  if (flag) return flag[0];
  const command = new RegExp(`(?<!\\b(?:a|an|the|this|that)\\s+)\\bfacegpu\\s+(?:${commands.join('|')})\\b`).exec(text);
  return command ? command[0] : null;
}

/** `file:line: "literal" names X` for each literal of `src` that names a flag or command. */
export function violations(src: string, where: string, commands: readonly string[]): string[] {
  const found: string[] = [];
  for (const l of literalsOf(src)) {
    const name = cliNameIn(l.text, commands);
    if (name) found.push(`${where}:${l.line}: ${JSON.stringify(l.text)} names ${name}`);
  }
  return found;
}
