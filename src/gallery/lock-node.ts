// One writer at a time per gallery folder (Node): two `facegpu enroll` processes each load,
// change and save the whole folder, so without a lock the second save would drop the first's
// people. The lock is the shared folder lock (src/lock-node.ts: proper-lockfile on a path
// beside the gallery, `<parent>/.<name>.lock`, stale and dead holders taken over, the
// holder's pid/host/command beside it for the message a refused writer gets).
import { withDirLock, type DirLock, type DirLockOptions } from '../lock-node.ts';

export { lockPathOf } from '../lock-node.ts';
export type GalleryLockOptions = Omit<DirLockOptions, 'what'>;
export type GalleryLock = DirLock;

/** Run `fn` holding the gallery's lock (see withDirLock): messages say "the gallery". */
export function withGalleryLock<T>(dir: string, fn: (lock: GalleryLock) => Promise<T>, opts: GalleryLockOptions = {}): Promise<T> {
  return withDirLock(dir, fn, { ...opts, what: 'gallery' });
}
