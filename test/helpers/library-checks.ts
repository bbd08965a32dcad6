// Checks on a photo library's store (library.sqlite) shared by the library's tests.
import type Database from 'better-sqlite3';

/**
 * Faces stored twice: the number of (photo, box) pairs held by more than one face. A batch
 * stored twice (a run killed and redone, a worker's batch retried) must replace a photo's
 * faces, never add them again, so this is 0 in a sound library.
 */
export function facesStoredTwice(db: Database.Database): number {
  return (db.prepare('SELECT COUNT(*) AS n FROM (SELECT photo, x, y, w, h FROM faces GROUP BY photo, x, y, w, h HAVING COUNT(*) > 1)').get() as { n: number }).n;
}
