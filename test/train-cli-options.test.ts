// The number flags of train and eval (src/cli/number-options.ts): an integer is written in
// decimal digits; 1e1 and 0x2 are refused as 1.5 and 2abc are, in one line naming the flag.
import { describe, expect, it } from 'vitest';
import { countOption, numberOption } from '../src/cli/number-options.ts';

describe('integer flags', () => {
  it('take decimal digits', () => {
    expect(countOption('--epochs', '10')).toBe(10);
    expect(countOption('--epochs', '007')).toBe(7);
    expect(countOption('--seed', '0', 0)).toBe(0);
    expect(numberOption('--min-face', '+24', true)).toBe(24);
  });

  it('refuse exponents, hex, binary, octal, fractions and trailing letters', () => {
    for (const v of ['1e1', '0x2', '0b10', '0o7', '1.5', '2.', '.5e1', '2abc', 'Infinity', '', ' ']) {
      expect(() => countOption('--epochs', v), v).toThrow(`--epochs must be an integer, got "${v}"`);
    }
  });

  it('a negative count is refused as below its least, not as not an integer', () => {
    expect(() => countOption('--seed', '-1', 0)).toThrow('--seed must be a non-negative integer, got -1');
    expect(() => countOption('--epochs', '0')).toThrow('--epochs must be a positive integer, got 0');
  });

  it('other numbers take any finite decimal number, an exponent too, but not hex, binary or octal', () => {
    expect(numberOption('--validation-split', '2e-1')).toBe(0.2);
    expect(numberOption('--lr', '1e-3')).toBe(0.001);
    expect(numberOption('--far', '.01')).toBe(0.01);
    expect(numberOption('--far', '1.')).toBe(1);
    expect(numberOption('--threshold', '-0.5E+0')).toBe(-0.5);
    for (const v of ['0x10', '0b1', '0o7', 'Infinity', '1e', '.', '--1', '1.5.2', '', ' ']) {
      expect(() => numberOption('--far', v), v).toThrow(`--far must be a number, got "${v}"`);
    }
  });
});
