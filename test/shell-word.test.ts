// src/cli/wording.ts shellWord: the words of a command a message tells people to run, as a
// POSIX shell reads them back (checked by running them through sh).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { facegpuCommand, oneLine, shellWord } from '../src/cli/wording.ts';

describe('shellWord', () => {
  it('leaves plain words alone and quotes the rest so that sh reads back the same text', () => {
    expect(shellWord('/tmp/g-1/s12.png')).toBe('/tmp/g-1/s12.png');
    expect(shellWord('Ana María')).toBe("'Ana María'");
    const words = ['Ana María', "O'Brien", '$HOME', '`id`', 'a"b', 'x*', '-', 'tab\there', '', 'ünïcode'];
    const out = execFileSync('sh', ['-c', `printf '%s\\n' ${words.map(shellWord).join(' ')}`], { encoding: 'utf8' });
    expect(out).toBe(words.map((w) => `${w}\n`).join(''));
  });

  it('facegpuCommand: operands then options; with an operand that starts with "-", options first and -- before the operands', () => {
    expect(facegpuCommand('gallery remove', ['people/', 'Ana María'], ['--photo', 'a 1.jpg'])).toBe("facegpu gallery remove people/ 'Ana María' --photo 'a 1.jpg'");
    expect(facegpuCommand('gallery rename', ['g', 'Al', '-Jo'])).toBe('facegpu gallery rename -- g Al -Jo');
    expect(facegpuCommand('gallery remove', ['g', '-Jo'], ['--photo', 'f.jpg'])).toBe('facegpu gallery remove --photo f.jpg -- g -Jo');
  });
});

describe('oneLine', () => {
  it('a file name as one line: as is, or quoted with escapes where it holds a control character', () => {
    expect(oneLine('/p/a b ü.jpg')).toBe('/p/a b ü.jpg');
    expect(oneLine('/p/two\nlines.jpg')).toBe('"/p/two\\nlines.jpg"');
    expect(oneLine('/p/tab\there.jpg')).toBe('"/p/tab\\there.jpg"');
    for (const name of ['/p/two\nlines.jpg', '/p/cr\r.jpg', '/p/del\u007f.jpg']) expect(oneLine(name)).not.toMatch(/[\n\r\u007f]/);
  });
});
