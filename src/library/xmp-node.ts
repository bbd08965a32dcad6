// The photo library's names written where other photo tools read them (Node): each named face
// as an MWG face region (face-regions.ts) in the photo's XMP sidecar, `<photo>.xmp` beside it
// (photo.jpg.xmp: the name digiKam, darktable and Immich use). The photos themselves are never
// written. Through ExifTool (exiftool-vendored), which keeps every other field of a sidecar
// (ratings, tags, darktable's edits) and replaces the file by renaming a finished copy.
//
// facegpu remembers in the library which regions it wrote (xmp_regions), so that a name
// changed or taken off in facegpu changes or leaves the sidecar on the next run, while regions
// written by a person in another tool stay.
import { existsSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { withGalleryLock } from '../gallery/store-node.ts';
import { planRegions, storedArea, storedSize, type MwgRegion, type NamedFace } from './face-regions.ts';
import { LibraryStore } from './store-node.ts';

export interface XmpReport {
  /** Photos with a named face, or with regions facegpu wrote before. */
  photos: number;
  /** Sidecars written (with dryRun: that would be). */
  written: number;
  /** Faces named in the sidecars after the run. */
  regions: number;
  /** Regions facegpu had written that were taken out (names changed or taken off). */
  dropped: number;
  /** Faces left unwritten because another tool names that face as someone else there. */
  kept: { file: string; face: number; name: string; theirs: string }[];
  /** Photos whose metadata could not be read or whose sidecar could not be written; the others are done. */
  failed: { file: string; error: string }[];
  dryRun: boolean;
}

export interface XmpOptions {
  /** Work out and report every change, write nothing. */
  dryRun?: boolean;
  onNotice?: (message: string) => void;
  /** Called after each photo (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** The sidecar of a photo: its whole file name with `.xmp` added. */
export const sidecarOf = (photo: string) => `${photo}.xmp`;

type ExifToolLike = {
  read(file: string, opts?: { readArgs?: string[] }): Promise<Record<string, unknown>>;
  write(file: string, tags: Record<string, unknown>, opts?: { writeArgs?: string[] }): Promise<unknown>;
  version(): Promise<string>;
  end(): Promise<void>;
};

/** ExifTool, started, or one line saying why it cannot be (it is a Perl program). */
async function startExifTool(procs: number): Promise<ExifToolLike> {
  const { ExifTool } = await import('exiftool-vendored');
  const et = new ExifTool({ maxProcs: procs, taskTimeoutMillis: 60_000 }) as unknown as ExifToolLike;
  try {
    await et.version();
  } catch (err) {
    await et.end().catch(() => {});
    throw new Error(`cannot start ExifTool, which writes the XMP sidecars (${(err as Error).message.split('\n')[0]}); it needs Perl: apt-get install perl`);
  }
  return et;
}

const regionList = (tags: Record<string, unknown>): MwgRegion[] => {
  const info = tags.RegionInfo as { RegionList?: unknown } | undefined;
  return Array.isArray(info?.RegionList) ? (info.RegionList as MwgRegion[]) : [];
};

/**
 * Write the library's named faces into the photos' XMP sidecars, as the gallery's one writer.
 * A photo that cannot be read or written is reported in `failed`, the others are done.
 */
export async function writeXmpRegions(dir: string, opts: XmpOptions = {}): Promise<XmpReport> {
  if (!LibraryStore.exists(dir)) throw new Error(`${dir}: no photo library here (index photos into it first: indexLibrary)`);
  return withGalleryLock(dir, async () => {
    const store = LibraryStore.open(dir);
    let et: ExifToolLike | null = null;
    try {
      const named = new Map<string, { id: number; box: [number, number, number, number]; person: string }[]>();
      for (const f of store.faceEntries()) {
        if (f.person === null) continue;
        const list = named.get(f.path) ?? [];
        list.push({ id: f.id, box: f.box, person: f.person });
        named.set(f.path, list);
      }
      const before = store.xmpRegions();
      const sizes = new Map(store.photos().map((p) => [p.path, p]));
      const paths = [...new Set([...named.keys(), ...before.keys()])].sort();
      const report: XmpReport = { photos: paths.length, written: 0, regions: 0, dropped: 0, kept: [], failed: [], dryRun: !!opts.dryRun };
      if (!paths.length) return report;
      const procs = Math.max(1, Math.min(4, cpus().length));
      et = await startExifTool(procs);
      const tool = et;
      const one = async (path: string) => {
        const photo = sizes.get(path);
        const faces = named.get(path) ?? [];
        const sidecar = sidecarOf(path);
        if (!photo) {
          // Gone from the library (deleted, and indexed since): nothing of it to write any more.
          if (!opts.dryRun) store.setXmpRegions(path, []);
          return;
        }
        if (!existsSync(path)) throw new Error('the photo is gone (index the library again)');
        // Its boxes are of the photo as indexed: a photo changed since may hold other faces.
        const now = statSync(path);
        if (now.size !== photo.size || now.mtimeMs !== photo.mtimeMs) throw new Error('the photo changed since it was indexed (index the library again)');
        if (!photo.width || !photo.height) throw new Error('its size is not stored (index the library again)');
        const tags = await tool.read(path);
        if (typeof tags.Error === 'string') throw new Error(`cannot read its metadata (${tags.Error})`);
        const orientation = Number(tags.Orientation ?? 1) || 1;
        const hasSidecar = existsSync(sidecar);
        // A sidecar's regions stand for the photo's; without any there, the photo's own (a camera's or another tool's) are carried over.
        const inSidecar = hasSidecar ? regionList(await tool.read(sidecar)) : [];
        const existing = inSidecar.length ? inSidecar : regionList(tags);
        const shown = { width: photo.width, height: photo.height };
        const ours: NamedFace[] = faces.map((f) => ({ face: f.id, name: f.person, area: storedArea(f.box, shown, orientation) }));
        const plan = planRegions(existing, ours, before.get(path) ?? []);
        report.regions += plan.written.length;
        report.dropped += plan.dropped;
        for (const k of plan.kept) report.kept.push({ file: path, ...k });
        const write = plan.changed && (hasSidecar || plan.regions.length > 0);
        if (write) report.written++;
        if (opts.dryRun) return;
        if (write) {
          const stored = storedSize(shown, orientation);
          const info = plan.regions.length ? { AppliedToDimensions: { H: stored.height, Unit: 'pixel', W: stored.width }, RegionList: plan.regions } : null;
          await tool.write(sidecar, { RegionInfo: info }, { writeArgs: ['-overwrite_original'] });
        }
        store.setXmpRegions(path, plan.written);
      };
      let next = 0;
      let done = 0;
      const worker = async () => {
        while (next < paths.length) {
          const path = paths[next++];
          try {
            await one(path);
          } catch (err) {
            report.failed.push({ file: path, error: (err as Error).message.split('\n')[0] });
          }
          opts.onProgress?.(++done, paths.length);
        }
      };
      await Promise.all(Array.from({ length: procs }, worker));
      report.failed.sort((a, b) => a.file.localeCompare(b.file));
      report.kept.sort((a, b) => a.file.localeCompare(b.file) || a.face - b.face);
      return report;
    } finally {
      await et?.end().catch(() => {});
      store.close();
    }
  }, { onWait: opts.onNotice });
}
