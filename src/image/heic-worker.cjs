// One HEIC decoder thread: heic.ts keeps a pool of these and sends each one file at a time.
// Plain JavaScript (CommonJS), so that Node runs it as it is from a checkout and from the
// package (scripts/build.mjs copies it beside the compiled heic.js); the rules (which image,
// the pixel limit, the reasons) are heic.ts's, told in each message.
//
// Why a thread: heic-decode (libheif + libde265 as WebAssembly) decodes synchronously, about a
// second for a 12-megapixel photo, so on the main thread it stopped everything else and ran one
// photo at a time; here photos decode side by side, and a decode that never ends can be
// stopped (the thread is terminated).
//
// Message in:  { id, buf: Uint8Array, primary: number, pages: number | undefined, maxPixels }
// Message out: { id, parsed, decoded, width, height, data: Uint8Array (packed RGB) }
//           or { id, parsed, decoded, error: { kind: 'damaged', reason } | { kind: 'too-big', width, height } | { kind: 'size', got, width, height } }
'use strict';
const { parentPort } = require('node:worker_threads');
const heic = require('heic-decode');

/** The lines libheif-js prints when it cannot parse or decode a file (libheif-js 1.23). */
const LIBHEIF_LINES = ['Could not create HEIF context', 'Could not parse HEIF file', 'Error loading image ids', 'No images found', 'Could not get image data for id', 'Decoding image failed'];

// libheif-js prints its failures with console.log: kept here (latest first) as the reason, never
// printed (the main thread's stdout may carry JSON).
let reasons = [];
const log = console.log;
console.log = (...args) => {
  if (typeof args[0] === 'string' && LIBHEIF_LINES.includes(args[0])) reasons.unshift(reasonOf(args));
  else log(...args);
};

/** "Could not parse HEIF file", "Invalid input: ..." -> the library's message, on one line. */
function reasonOf(args) {
  const detail = args
    .slice(1)
    .map((a) => (typeof a === 'string' ? a : a && a.message))
    .find((m) => typeof m === 'string' && m.length > 0);
  return (detail || args[0]).replace(/\s+/g, ' ').trim();
}

parentPort.on('message', async ({ id, buf, primary, pages, maxPixels }) => {
  reasons = [];
  // Whether heic-decode parsed the file and decoded pixels (the tests check what was refused before).
  let parsed = false;
  let decoded = false;
  const answer = (rest, transfer) => parentPort.postMessage({ id, parsed, decoded, ...rest }, transfer);
  let images;
  try {
    parsed = true;
    images = await heic.all({ buffer: buf }); // the file parsed, no pixels decoded
  } catch (err) {
    return answer({ error: { kind: 'damaged', reason: reasons[0] || err.message } });
  }
  try {
    // heic-decode does not say which image is the primary one; sharp's libheif lists the same
    // top-level images in the same order and names it. The first when they disagree.
    const image = pages === images.length && primary >= 0 && primary < images.length ? images[primary] : images[0];
    const { width, height } = image;
    if (width * height > maxPixels) return answer({ error: { kind: 'too-big', width, height } });
    let rgba;
    try {
      decoded = true;
      rgba = (await image.decode()).data;
    } catch (err) {
      return answer({ error: { kind: 'damaged', reason: reasons[0] || err.message } });
    }
    if (rgba.length !== width * height * 4) return answer({ error: { kind: 'size', got: rgba.length, width, height } });
    const data = new Uint8Array(width * height * 3);
    for (let i = 0, o = 0; o < data.length; i += 4, o += 3) {
      data[o] = rgba[i];
      data[o + 1] = rgba[i + 1];
      data[o + 2] = rgba[i + 2];
    }
    answer({ width, height, data }, [data.buffer]);
  } finally {
    images.dispose();
  }
});
