// HEIC photos (HEVC-coded HEIF, what iPhones write): the pixels are decoded by `heic-decode`
// (libheif and libde265 compiled to WebAssembly, through `libheif-js`), because sharp's
// prebuilt libheif has no HEVC decoder. This file recognises a HEIC file by its ftyp brands,
// keeps the decoder's rules before any pixel is decoded, and turns what the library prints
// and throws into one-line errors.
//
// - The container is read first by sharp's libheif (`metadata()`, no pixels decoded; it has
//   no HEVC decoder, but parses the file): the pixel limit is checked against the primary
//   image's size as the container declares it (`ispe`, after rotation) before heic-decode
//   sees the file, and a container it cannot parse is refused there (heic-decode 2.1.0 does
//   not free its parse of a file in which it finds no image: about the file's size of
//   WebAssembly memory, never given back, per damaged file).
// - The image decoded is the file's primary image (its `pitm` box): heic-decode's default
//   decodes the first top-level image, which in a file of several (bursts, collections) need
//   not be the primary one. Which of heic-decode's images is primary is sharp's
//   `metadata().pagePrimary` (libheif lists the same top-level images in the same order).
// - Orientation is libheif's: the container's `irot`/`imir`/`clap` transforms are applied, as
//   every HEIF reader does. An EXIF Orientation tag inside a HEIC is not applied again (the
//   HEIF rule; libvips and Apple's readers do the same; iPhones write both, the same way).
// - Alpha is dropped; 10-bit images come out as 8 bits (libheif's interleaved RGBA).
// - heic-decode runs on decoder threads (heic-worker.cjs), one file at a time each, as many
//   threads as cores (at most 8): it decodes synchronously, about a second for a 12-megapixel
//   photo, which on the main thread ran one photo at a time and stopped all else. A decode
//   that takes over HEIC_TIMEOUT_MS is stopped (its thread terminated), a damaged file then
//   being one failed photo, not a hung run.
// - libheif-js reports a file it cannot parse or decode by printing to the console (stdout,
//   where `facegpu embed --json` writes its answer) and returning nothing; the decoder thread
//   keeps those lines off the console and makes them the error's reason.
// - WebAssembly memory grows to the largest image decoded and is not given back: about 170 MB
//   more resident memory per decoder thread after a 12-megapixel photo (src/image/README.md).
//
// Files with a HEVC brand that heic-decode 2.1.0 refuses to open (its brand check takes the
// major brands mif1, msf1, heic, heix, hevc and hevx; multi-layer and scalable HEVC, heim,
// heis, hevm and hevs, are not read) stay refused by decode.ts's `refusedFormat`.
import { Worker } from 'node:worker_threads';
import sharp, { type Metadata } from 'sharp';
import { coresUpTo } from '../cores-node.ts';
import { headerLimitError } from './header-limit.ts';
import type { RgbImage } from './rgb.ts';
import { ownFailure } from './vips-errors.ts';

/** ftyp brands of HEVC-coded HEIF (HEIC) files. */
const HEVC_BRANDS = ['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs'];
/** The major brands heic-decode 2.1.0 opens (its own check, before libheif sees the file). */
const READ_MAJOR = ['mif1', 'msf1', 'heic', 'heix', 'hevc', 'hevx'];

/**
 * What `buf` is as HEIC, from its ftyp box: 'heic' (HEVC-coded, decoded here), 'unread' (HEVC-
 * coded, with a major brand heic-decode refuses: multi-layer or scalable HEVC), or null (not
 * HEIC; an AVIF, also a HEIF, is sharp's).
 */
export function heicKind(buf: Uint8Array): 'heic' | 'unread' | null {
  if (buf.length < 12) return null;
  const head = Buffer.from(buf.buffer, buf.byteOffset, Math.min(buf.byteLength, 4096)).toString('latin1');
  if (head.slice(4, 8) !== 'ftyp') return null;
  const size = Math.min(head.length, Buffer.from(buf.buffer, buf.byteOffset, 4).readUInt32BE(0) || 0);
  const brands = [head.slice(8, 12)];
  for (let at = 16; at + 4 <= size; at += 4) brands.push(head.slice(at, at + 4));
  if (!(HEVC_BRANDS.includes(brands[0]) || (!brands.includes('avif') && brands.some((b) => HEVC_BRANDS.includes(b))))) return null;
  return READ_MAJOR.includes(brands[0]) ? 'heic' : 'unread';
}

/** A HEIC decode that runs longer than this is stopped (a 12-megapixel photo takes about a second here). */
export const HEIC_TIMEOUT_MS = 60_000;

/**
 * Decode a HEIC file's primary image to packed RGB (libheif's orientation applied, alpha
 * dropped), on one of the decoder threads (heic-worker.cjs). Its size is checked against
 * `maxPixels` before its pixels are decoded; a decode that takes over `timeoutMs` is stopped.
 * Errors are one line and start with `where`.
 */
export async function decodeHeic(buf: Uint8Array, where: string, maxPixels = Infinity, timeoutMs = HEIC_TIMEOUT_MS): Promise<RgbImage> {
  const fail = (message: string) => new Error(`${where}: ${message}`);
  const damaged = (why: string) => fail(`a damaged or truncated HEIC: ${why}`);
  const tooBig = (width: number, height: number) => headerLimitError(where, 'HEIC', width, height, maxPixels);
  // The container first, by sharp's libheif (no pixels decoded: it has no HEVC decoder): the
  // primary image's size, which of the top-level images it is, and a damaged container
  // refused before heic-decode, which leaks its parse of a file it finds no image in.
  let meta: Metadata;
  try {
    // Its message is this file's even when other decodes fail at the same time (vips-errors.ts).
    meta = await ownFailure(() => sharp(buf, { limitInputPixels: false }).metadata());
  } catch (err) {
    throw damaged(libheifReason((err as Error).message));
  }
  if (meta.width && meta.height && meta.width * meta.height > maxPixels) throw tooBig(meta.width, meta.height);
  const r = await decoders.decode({ buf, primary: meta.pagePrimary ?? 0, pages: meta.pages, maxPixels }, timeoutMs).catch((err: Error) => {
    throw fail(err.message);
  });
  if ('data' in r) return { data: r.data, width: r.width, height: r.height };
  const e = r.error;
  if (e.kind === 'too-big') throw tooBig(e.width, e.height);
  if (e.kind === 'size') throw fail(`cannot decode image (libheif gave ${e.got} bytes for ${e.width}x${e.height} pixels)`);
  throw damaged(e.reason);
}

/**
 * A decoder thread idle this long is let go, with its memory. The next HEIC starts a new one,
 * whose first decode takes about half a second more (2 of 12 megapixels at once: 1.33-1.41 s on
 * fresh threads, 0.87 s on warm ones, 2 cores).
 */
export const HEIC_IDLE_MS = 5_000;

/** Decoder threads alive now (they are let go after HEIC_IDLE_MS idle). */
export function heicDecoderThreads(): number {
  return decoders.live;
}

/** What heic-decode was asked to do so far in this process (files parsed, images decoded): the tests check that refused files never reach it. */
export function heicDecoderCalls(): { parsed: number; decoded: number } {
  return { ...decoders.calls };
}

type Job = { buf: Uint8Array; primary: number; pages: number | undefined; maxPixels: number };
type WorkerError = { kind: 'damaged'; reason: string } | { kind: 'too-big'; width: number; height: number } | { kind: 'size'; got: number; width: number; height: number };
type Answer = { parsed: boolean; decoded: boolean } & ({ width: number; height: number; data: Uint8Array } | { error: WorkerError });

/**
 * The decoder threads: as many as the machine's cores (at most 8), started when first needed,
 * each decoding one file at a time; idle ones do not keep the process alive. A thread whose
 * decode times out or that dies is replaced by a new one for the next file.
 */
class HeicDecoders {
  readonly calls = { parsed: 0, decoded: 0 };
  private readonly idle: Worker[] = [];
  /** When each idle thread is let go (its WebAssembly memory with it). */
  private readonly idleTimers = new Map<Worker, NodeJS.Timeout>();
  private threads = 0;
  private readonly waiting: (() => void)[] = [];
  private nextId = 0;
  private readonly most = coresUpTo(8);

  async decode(job: Job, timeoutMs: number): Promise<Answer> {
    const worker = await this.take();
    const id = this.nextId++;
    worker.ref();
    return new Promise<Answer>((resolve, reject) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (ok) this.give(worker);
        else this.drop(worker);
      };
      const onMessage = (m: Answer & { id: number }) => {
        if (m.id !== id) return;
        if (m.parsed) this.calls.parsed++;
        if (m.decoded) this.calls.decoded++;
        done(true);
        resolve(m);
      };
      const onError = (err: Error) => {
        done(false);
        reject(new Error(`cannot decode image (the HEIC decoder failed: ${err.message.split('\n')[0]})`));
      };
      const onExit = (code: number) => onError(new Error(`its thread exited with code ${code}`));
      const timer = setTimeout(() => {
        done(false);
        reject(new Error(`cannot decode image (HEIC decoding took over ${timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`} and was stopped; a damaged file?)`));
      }, timeoutMs);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage({ id, ...job });
    });
  }

  /** An idle thread, a new one while under the limit, else the next one given back. */
  private async take(): Promise<Worker> {
    for (;;) {
      const w = this.idle.pop();
      if (w) {
        clearTimeout(this.idleTimers.get(w));
        this.idleTimers.delete(w);
        return w;
      }
      if (this.threads < this.most) {
        this.threads++;
        const w = new Worker(new URL('./heic-worker.cjs', import.meta.url));
        w.on('error', () => {}); // told to the decode under way (decode's own listener); none runs while idle
        return w;
      }
      await new Promise<void>((r) => this.waiting.push(r));
    }
  }

  /** Live decoder threads, busy or idle. */
  get live(): number {
    return this.threads;
  }

  private give(w: Worker): void {
    w.unref();
    this.idle.push(w);
    // A thread idle for HEIC_IDLE_MS is let go: its WebAssembly memory (170 MB or more after a
    // 12-megapixel photo) is not held by a long-lived process (index --watch) between photos.
    const timer = setTimeout(() => {
      this.idleTimers.delete(w);
      this.idle.splice(this.idle.indexOf(w), 1);
      this.drop(w);
    }, HEIC_IDLE_MS);
    timer.unref();
    this.idleTimers.set(w, timer);
    this.waiting.shift()?.();
  }

  private drop(w: Worker): void {
    this.threads--;
    void w.terminate();
    this.waiting.shift()?.();
  }
}

const decoders = new HeicDecoders();

/**
 * libvips' message about a HEIF it cannot parse, on one line: its "heif: <reason> (code)"
 * line (the lines before it are its reader's seeks), else its first line.
 */
function libheifReason(message: string): string {
  const lines = message.split('\n');
  const heif = lines.map((l) => /^heif: (.*?)(?: \(\d+\.\d+\))?$/.exec(l.trim())).find((m) => m);
  return (heif ? heif[1] : lines[0]).trim();
}
