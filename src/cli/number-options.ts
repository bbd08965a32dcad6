// Number flags, parsed in the command's action before any work: a clear one-line error naming
// the flag and the value. Shared by every command that takes counts, rates or thresholds.

/** A number option, or a clear error naming it. */
export function numberOption(name: string, value: string, integer = false): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'}, got "${value}"`);
  }
  return n;
}

/** An integer option of at least `min` (1: a count such as --epochs or --batch-size). */
export function countOption(name: string, value: string, min = 1): number {
  const n = numberOption(name, value, true);
  if (n < min) throw new Error(`${name} must be ${min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer of at least ${min}`}, got ${n}`);
  return n;
}

/** A number option above zero (a rate, a margin). */
export function positiveOption(name: string, value: string): number {
  const n = numberOption(name, value);
  if (!(n > 0)) throw new Error(`${name} must be a positive number, got ${n}`);
  return n;
}
