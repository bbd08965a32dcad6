// Why a file system call failed, in the words a person reads: Node's codes (ENOENT, EISDIR,
// EROFS) are for programs, and its messages repeat the path the caller names already. One
// table for every message of reading, writing, locking and looking up, so that the same
// failure reads the same from each command.

const WORDS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'a folder, not a file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the file system',
  EDQUOT: 'disk quota exceeded',
  ELOOP: 'symbolic link loop',
  ENAMETOOLONG: 'name too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files',
  EIO: 'input/output error (the disk or the network file system)',
  EBUSY: 'busy (a mount point, or in use)',
  ERR_FS_FILE_TOO_LARGE: 'over 2 GiB, too large to read at once',
};

/** `err`'s reason in words, where its code is a known one; else null. */
export function fsWords(err: unknown): string | null {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return (code && WORDS[code]) || null;
}

/** `err`'s reason in words where its code is a known one; else its code, else its message. */
export function fsReason(err: unknown): string {
  return fsWords(err) ?? (err as NodeJS.ErrnoException | undefined)?.code ?? (err instanceof Error ? err.message : String(err));
}
