// A LanceDB table of (id, vector) rows from a flat Float32Array, for the index benchmarks
// (bench/index-bench.ts, bench/gallery-bench.ts). @lancedb/lancedb is a dev dependency,
// there only for these comparisons. Written in slices: one Arrow buffer of a million 1024-d
// vectors (4 GB) is more than Arrow's JavaScript side takes in one piece.
import { createRequire } from 'node:module';

/** @lancedb/lancedb, or one line saying how to install it. */
export async function lancedbModule(): Promise<any> {
  try {
    return await import('@lancedb/lancedb');
  } catch {
    throw new Error('@lancedb/lancedb is not installed (npm i --no-save @lancedb/lancedb@0.31.0)');
  }
}

/** An Arrow table of ids and vectors [keys.length, dim]. */
export function arrowTableOf(keys: ArrayLike<number>, x: Float32Array, dim: number): unknown {
  // LanceDB requires apache-arrow as CommonJS: an ESM-loaded Table is another class to it (0 rows).
  const arrow = createRequire(import.meta.url)('apache-arrow');
  const item = new arrow.Field('item', new arrow.Float32(), true);
  const values = arrow.makeData({ type: new arrow.Float32(), length: x.length, data: x });
  const vectors = arrow.makeData({ type: new arrow.FixedSizeList(dim, item), length: keys.length, nullCount: 0, child: values });
  const ids = arrow.makeData({ type: new arrow.Int32(), length: keys.length, data: Int32Array.from(keys) });
  return new arrow.Table({ id: arrow.makeVector(ids), vector: arrow.makeVector(vectors) });
}

/**
 * A new table "faces" in the folder `where` of `n` rows, added in batches that `batch(at, m)`
 * gives (their ids and vectors [m, dim]), with the module at `.lancedb`.
 */
export async function openLanceTable(where: string, n: number, batch: (at: number, m: number) => { keys: ArrayLike<number>; x: Float32Array }, dim: number, progress: (done: number) => void = () => {}): Promise<any> {
  const lancedb = await lancedbModule();
  const db = await lancedb.connect(where);
  const step = 100000;
  let table: any = null;
  for (let at = 0; at < n; at += step) {
    const m = Math.min(step, n - at);
    const { keys, x } = batch(at, m);
    const slice = arrowTableOf(keys, x, dim);
    if (table) await table.add(slice);
    else table = await db.createTable('faces', slice);
    progress(at + m);
  }
  table.lancedb = lancedb;
  return table;
}
