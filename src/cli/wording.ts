// How the command line words what it prints for people and in JSON.

export { counted, withoutFile } from '../wording.ts';

/**
 * Warn (stderr) of a person named "unknown" (any case), as enroll, rename and naming do:
 * identify prints "unknown" for a face it cannot name, so this person's matches would read the
 * same as nobody's.
 */
export function warnUnknownName(person: string): void {
  const name = person.trim();
  if (name.toLowerCase() === 'unknown') console.error(`facegpu: warning: a person named "${name}": identify prints "unknown" for a face it cannot name (null in --json), so this person's matches read the same in its text (choose another name to tell them apart)`);
}

/**
 * The line said when not one of `files` could be used, after each was named with its reason
 * ("skipped notes.txt: not an image ..."): it says nothing of why, which would contradict the
 * reasons above it (a file that is not an image was read). `done` is what the command does
 * with an image ("embedded", "predicted").
 */
export const noneRead = (files: readonly string[], done = 'answered'): string =>
  `nothing ${done}: ${files.length === 1 ? `${files[0]} was skipped` : `all ${files.length} files were skipped`}`;

/**
 * A file name as one line of text: as is, unless it holds a control character (a newline in a
 * name split a listing's line in two), then quoted with its escapes, as JSON writes it.
 */
export const oneLine = (name: string): string => (/[\u0000-\u001f\u007f]/.test(name) ? JSON.stringify(name).replace(/\u007f/g, '\\u007f') : name);

/** `word` as a POSIX shell reads it back: as is when plain, else in single quotes. For commands a message tells people to run. */
export const shellWord = (word: string): string => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

/**
 * A facegpu command for a message to tell people to run: each word as a shell reads it back
 * (shellWord); where an operand starts with "-" (a person named "-Jo"), the options come first
 * and `--` before the operands, which would otherwise read as flags.
 */
export function facegpuCommand(command: string, operands: readonly string[], options: readonly string[] = []): string {
  const words = operands.some((o) => o.startsWith('-')) ? [...options, '--', ...operands] : [...operands, ...options];
  return `facegpu ${command} ${words.map(shellWord).join(' ')}`;
}
