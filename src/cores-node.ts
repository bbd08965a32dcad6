// How many things to run at once where each keeps one core busy (a decode, an ExifTool
// process): as many as this process may use, at least one, at most `most` (memory bounds the
// rest).
import { availableParallelism } from 'node:os';

/** The cores this process may use, between 1 and `most`. */
export const coresUpTo = (most: number): number => Math.max(1, Math.min(most, availableParallelism()));
