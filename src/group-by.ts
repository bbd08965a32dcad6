// Items grouped by a key, each group in the order given (Map.groupBy, which Node 20 lacks).

/** `items` grouped by `keyOf`, groups in the order their first item came, items in the order given. */
export function groupBy<T, K>(items: Iterable<T>, keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
