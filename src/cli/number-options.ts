// Number flags (and the few that name one of a set), parsed in the command's action before any
// work: a clear one-line error naming the flag and the value. Shared by every command that
// takes counts, rates, thresholds or a choice.
import { minFaceProblem } from '../detect/tiles.ts';

/**
 * A number option, or a clear error naming it. An integer is decimal digits (a sign allowed):
 * Number() also reads 1e1 as 10 and 0x2 as 2, which no one means by a count. Other numbers are
 * decimal with an exponent if need be (1e-3): `--far 0x10` was read as 16.
 */
export function numberOption(name: string, value: string, integer = false): number {
  const n = Number(value);
  const decimal = integer ? /^\s*[-+]?\d+\s*$/ : /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;
  if (!Number.isFinite(n) || !decimal.test(value)) {
    throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'}, got "${value}"`);
  }
  return n;
}

/** What an integer of at least `min` (and at most `max`) is called: "a positive integer", "integers from 1 to 100". */
function integers(min: number, max: number | undefined, plural: boolean): string {
  const [a, an] = plural ? ['', ''] : ['a ', 'an '];
  const s = plural ? 's' : '';
  if (max !== undefined) return `${an}integer${s} from ${min} to ${max}`;
  if (min === 1) return `${a}positive integer${s}`;
  if (min === 0) return `${a}non-negative integer${s}`;
  return `${an}integer${s} of at least ${min}`;
}

/** An integer option of at least `min` (1: a count such as --epochs or --batch-size), and at most `max` when given. */
export function countOption(name: string, value: string, min = 1, max?: number): number {
  const n = numberOption(name, value, true);
  if (n < min || (max !== undefined && n > max)) throw new Error(`${name} must be ${integers(min, max, false)}, got ${n}`);
  return n;
}

/** A comma-separated list of integers of at least `min` (and at most `max`): batch sizes, expansions. */
export function countListOption(name: string, value: string, min = 1, max?: number): number[] {
  const items = value.split(',');
  const ok = items.every((v) => /^\s*\d+\s*$/.test(v) && Number(v) >= min && (max === undefined || Number(v) <= max));
  if (!ok) throw new Error(`${name} must be a comma-separated list of ${integers(min, max, true)}, got "${value}"`);
  return items.map(Number);
}

/** An option that is one of `values` ("a, b or c"), or a clear error naming it. */
export function choiceOption<T extends string>(name: string, value: string, values: readonly T[]): T {
  if (!values.includes(value as T)) throw new Error(`${name} must be ${values.slice(0, -1).join(', ')} or ${values.at(-1)}, got "${value}"`);
  return value as T;
}

/** A comma-separated list of `values`, or a clear error naming the option and what it takes. */
export function choiceListOption<T extends string>(name: string, value: string, values: readonly T[], what: string): T[] {
  const items = value.split(',');
  if (!items.every((v) => values.includes(v as T))) throw new Error(`${name} must be comma-separated ${what} (${values.join(', ')}), got "${value}"`);
  return items as T[];
}

/** A number option above zero (a rate, a margin). */
export function positiveOption(name: string, value: string): number {
  const n = numberOption(name, value);
  if (!(n > 0)) throw new Error(`${name} must be a positive number, got ${n}`);
  return n;
}

/** `--min-face <pixels>`'s help, for the commands that find faces in photos they are given. */
export const MIN_FACE_HELP = 'also find faces down to this many pixels wide in big photos (group photos, people far off), by running the detector on overlapping tiles: slower, one run per tile (0: the whole photo only, the default)';

/** `--min-face`: 0 (the whole photo only) or a whole number of pixels from MIN_FACE_PIXELS. */
export function minFaceOption(value: string): number {
  const n = numberOption('--min-face', value, true);
  const problem = minFaceProblem(n);
  if (problem) throw new Error(`--min-face ${problem}`);
  return n;
}
