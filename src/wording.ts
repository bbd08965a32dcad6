// Words shared by every front end (the CLI, the page): counts with their noun, and an error
// without the file's name where the file is named beside it. Platform-neutral.

/** `n` and the noun, singular for exactly one: "1 photo", "2 photos", "1 person". */
export const counted = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/**
 * A file's error without the file's name in front (decoding errors start with it), for
 * where the file is named beside it: a `{"file", "error"}` entry, or "<file>: <error>".
 */
export const withoutFile = (message: string, file: string): string => (message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message);
