// The one-line refusal of a file the decoder will not read, for the decoder tests.
import { expect } from 'vitest';
import { decodeImageRaw } from '../../src/image/decode.ts';

/** The message decodeImageRaw rejects `buf` with (named `where`); it must be one line. */
export async function decodeRefusal(buf: Uint8Array, where: string): Promise<string> {
  const err = await decodeImageRaw(buf, where).then(
    () => null,
    (e: Error) => e,
  );
  expect(err).toBeInstanceOf(Error);
  expect(err!.message).not.toContain('\n');
  return err!.message;
}
