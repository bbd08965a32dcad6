// How the command line words what it prints for people and in JSON.

/** `n` and the noun, singular for exactly one: "1 photo", "2 photos", "1 person". */
export const counted = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/**
 * A file's error without the file's name in front (decoding errors start with it), for
 * where the file is named beside it: a `{"file", "error"}` entry, or "<file>: <error>".
 */
export const withoutFile = (message: string, file: string): string => (message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message);

/** The line said when not one of `files` could be read. */
export const noneRead = (files: readonly string[]): string => (files.length === 1 ? `${files[0]}: could not be read` : `none of the ${files.length} images could be read`);
