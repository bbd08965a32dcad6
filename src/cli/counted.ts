// Counts as people read them: "1 photo", "2 photos", "1 person".

/** `n` and the noun, singular for exactly one. */
export const counted = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
