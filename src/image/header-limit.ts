// The one error every header reader here (pnm.ts, bmp.ts, heic.ts) throws when a file's
// header claims more pixels than the limit: decode.ts adds how to raise the limit.

/** A header's claim above the pixel limit, named by file, claim and limit; nothing was decoded. */
export class HeaderLimitError extends Error {}

/** The error for a header of `kind` (e.g. "P5", "BMP") claiming width x height pixels above `maxPixels`. */
export const headerLimitError = (where: string, kind: string, width: number, height: number, maxPixels: number): HeaderLimitError =>
  new HeaderLimitError(`${where}: the ${kind} header claims ${width}x${height} pixels (${width * height}), above the limit of ${maxPixels}`);
