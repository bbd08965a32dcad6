// A photo's named faces as XMP face regions: the Metadata Working Group's region schema
// (mwg-rs), which digiKam, Lightroom, Immich, Picasa and ExifTool read and write; Microsoft's
// and IPTC's regions are read too. Pure: the geometry, the rule that merges facegpu's names into the
// regions a photo has already, and which region names a face on import. The sidecar files are
// xmp-node.ts's.
//
// Geometry (MWG guidelines 2.0, 5.9): a region applies to the image *as stored*; a reader turns
// it with the EXIF Orientation as it turns the pixels. facegpu's boxes are on the image as
// shown (decode.ts applies the orientation), so they are turned back here. An area is
// normalized to 0..1 and given by its centre and size.
import type { Box } from '../gallery/gallery-format.ts';
import { boxIou } from '../detect/region.ts';

/** A region's place on the stored image: centre and size, each 0..1. */
export interface RegionArea {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A region as ExifTool reads and writes it (`RegionInfo.RegionList[i]`); fields of other tools ride along. */
export interface MwgRegion {
  Name?: string;
  Type?: string;
  Area?: { X?: number; Y?: number; W?: number; H?: number; Unit?: string; [field: string]: unknown };
  [field: string]: unknown;
}

/** A face facegpu names in a photo. */
export interface NamedFace {
  /** Its id in the library. */
  face: number;
  name: string;
  area: RegionArea;
}

/** A region facegpu wrote into a photo's metadata before: the named face it was written for (kept in the library, to know its own). */
export type WrittenRegion = NamedFace;

const DIGITS = 1e6;
const round = (v: number) => Math.round(v * DIGITS) / DIGITS;
const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/** The stored image's size: the shown one, its sides swapped where the orientation turns it a quarter (5-8). */
export function storedSize(shown: { width: number; height: number }, orientation: number): { width: number; height: number } {
  return orientation >= 5 && orientation <= 8 ? { width: shown.height, height: shown.width } : { ...shown };
}

/**
 * Where a point of the shown image (u, v, each 0..1) lies on the stored one, for EXIF
 * Orientation 1-8 (the tag says how the stored rows and columns are turned to be shown).
 */
function storedPoint(u: number, v: number, orientation: number): [number, number] {
  switch (orientation) {
    case 2: return [1 - u, v]; // mirrored left-right
    case 3: return [1 - u, 1 - v]; // turned 180
    case 4: return [u, 1 - v]; // mirrored top-bottom
    case 5: return [v, u]; // transposed
    case 6: return [v, 1 - u]; // shown turned 90 clockwise
    case 7: return [1 - v, 1 - u]; // transversed
    case 8: return [1 - v, u]; // shown turned 90 anticlockwise
    default: return [u, v];
  }
}

/**
 * A face box on the shown image (pixels: x, y, width, height) as a region area on the stored
 * image, clipped to the image, rounded to 6 digits (as written, so that it reads back equal).
 */
export function storedArea(box: Box, shown: { width: number; height: number }, orientation: number): RegionArea {
  const [bx, by, bw, bh] = box;
  const u0 = clamp01(bx / shown.width);
  const v0 = clamp01(by / shown.height);
  const u1 = clamp01((bx + bw) / shown.width);
  const v1 = clamp01((by + bh) / shown.height);
  const [sa, ta] = storedPoint(u0, v0, orientation);
  const [sb, tb] = storedPoint(u1, v1, orientation);
  const [x0, x1] = [Math.min(sa, sb), Math.max(sa, sb)];
  const [y0, y1] = [Math.min(ta, tb), Math.max(ta, tb)];
  return { x: round((x0 + x1) / 2), y: round((y0 + y1) / 2), w: round(x1 - x0), h: round(y1 - y0) };
}

/** A region's area, if it is a normalized one with every number (MWG's only unit for areas). */
export function areaOf(r: MwgRegion): RegionArea | null {
  const a = r.Area;
  if (!a || (a.Unit !== undefined && a.Unit !== 'normalized')) return null;
  const [x, y, w, h] = [a.X, a.Y, a.W, a.H].map(Number);
  return [x, y, w, h].every(Number.isFinite) ? { x, y, w, h } : null;
}

/**
 * How much two areas must overlap (intersection over union) to be one face: other tools draw
 * their boxes otherwise than facegpu's detector (larger, squarer, with the hair), so less than
 * the half the library asks of its own boxes.
 */
export const MATCH_IOU = 0.3;

const rect = (a: RegionArea) => ({ x: a.x - a.w / 2, y: a.y - a.h / 2, width: a.w, height: a.h });
const sameFace = (a: RegionArea, b: RegionArea) => boxIou(rect(a), rect(b)) > MATCH_IOU;
const sameArea = (a: RegionArea, b: RegionArea) => Math.abs(a.x - b.x) < 1e-5 && Math.abs(a.y - b.y) < 1e-5 && Math.abs(a.w - b.w) < 1e-5 && Math.abs(a.h - b.h) < 1e-5;
const isFace = (r: MwgRegion) => r.Type === undefined || r.Type === 'Face';
/** A name as it reads back: ExifTool drops a leading space (and facegpu writes names trimmed). */
const nameOf = (name: unknown) => (typeof name === 'string' ? name.normalize('NFC').trim() : '');
const sameName = (a: unknown, b: unknown) => nameOf(a) !== '' && nameOf(a) === nameOf(b);
/** Of facegpu's own regions (remembered as written)? */
const writtenBy = (before: readonly WrittenRegion[], r: MwgRegion, area: RegionArea) => before.some((w) => sameName(w.name, r.Name) && sameArea(w.area, area));
/** Regions compared as text, as XMP holds them (a number facegpu writes reads back as a string). */
const asText = (regions: readonly MwgRegion[]) => JSON.stringify(regions, (_k, v: unknown) => (typeof v === 'number' ? String(v) : v));

/** The region facegpu writes for a named face. */
export function faceRegion(f: NamedFace): MwgRegion {
  return { Area: { H: f.area.h, Unit: 'normalized', W: f.area.w, X: f.area.x, Y: f.area.y }, Name: nameOf(f.name), Type: 'Face' };
}

export interface RegionPlan {
  /** The photo's regions after the change: everyone else's as they were, then facegpu's. */
  regions: MwgRegion[];
  /** What facegpu has written there after it (to be remembered for the next run). */
  written: WrittenRegion[];
  /** Whether `regions` differ from the regions there were. */
  changed: boolean;
  /** Regions facegpu had written that go (the face was taken off the person, or renamed). */
  dropped: number;
  /** Faces left unwritten: another tool's region names that face as someone else, and is kept. */
  kept: { face: number; name: string; theirs: string }[];
}

/**
 * Merge facegpu's named faces into a photo's regions. A region facegpu wrote before (its name
 * and area remembered) is facegpu's to replace or drop. A face region of another tool at the
 * same face with no name, or with facegpu's name, is replaced by facegpu's (it names that face
 * now); with another name it is kept, and facegpu's face left out (reported: a person decides,
 * not facegpu). Every other region (other faces, pets, focus areas) is kept as it is.
 */
export function planRegions(existing: readonly MwgRegion[], ours: readonly NamedFace[], before: readonly WrittenRegion[]): RegionPlan {
  let dropped = 0;
  const others = existing.filter((r) => {
    const area = areaOf(r);
    if (!area) return true;
    if (writtenBy(before, r, area)) {
      if (!ours.some((f) => sameName(f.name, r.Name) && sameArea(f.area, area))) dropped++;
      return false;
    }
    return !(isFace(r) && ours.some((f) => sameFace(f.area, area) && (!nameOf(r.Name) || sameName(r.Name, f.name))));
  });
  const kept: RegionPlan['kept'] = [];
  const written: NamedFace[] = [];
  for (const f of ours) {
    const theirs = others.find((r) => {
      const area = areaOf(r);
      return !!area && isFace(r) && !!nameOf(r.Name) && sameFace(f.area, area);
    });
    if (theirs) kept.push({ face: f.face, name: f.name, theirs: nameOf(theirs.Name) });
    else written.push(f);
  }
  const regions = [...others, ...written.map(faceRegion)];
  return {
    regions,
    written,
    changed: asText(regions) !== asText(existing),
    dropped,
    kept,
  };
}

/**
 * Microsoft's face regions (Windows Live Photo Gallery, Windows Photos, Photini:
 * `MP:RegionInfo`, as ExifTool reads it: `RegionInfoMP.Regions`) as MWG regions, to be read as
 * names. A rectangle is "x, y, w, h" from its top left corner, normalized; taken on the stored
 * image, as ExifTool's own converter (convert_regions.config) takes it. A face marked ignored
 * (the name "ffffffffffffffff") and a region without a rectangle name nobody's face.
 */
export function microsoftRegions(info: unknown): MwgRegion[] {
  const regions = (info as { Regions?: unknown } | null | undefined)?.Regions;
  if (!Array.isArray(regions)) return [];
  return regions.flatMap((r: { PersonDisplayName?: unknown; Rectangle?: unknown }) => {
    const name = nameOf(r?.PersonDisplayName);
    const rect = typeof r?.Rectangle === 'string' ? r.Rectangle.split(',').map(Number) : [];
    if (!name || name === 'ffffffffffffffff' || rect.length !== 4 || !rect.every(Number.isFinite)) return [];
    const [x, y, w, h] = rect;
    return [{ Area: { X: x + w / 2, Y: y + h / 2, W: w, H: h, Unit: 'normalized' }, Name: name, Type: 'Face' }];
  });
}

/**
 * IPTC's image regions (IPTC Photo Metadata 2019.1, `Iptc4xmpExt:ImageRegion`, as ExifTool
 * reads it: `ImageRegion`; Photini and picture agencies' tools write them) as MWG regions, to
 * be read as names, as ExifTool's own converter (convert_regions.config) takes them: a
 * rectangle's `RbX`, `RbY` are its top left corner, relative (0..1) or in pixels of the stored
 * image (`stored`), and the region is taken on the stored image. The person is the one the
 * region names: its one `PersonInImageWDetails` entry's `PersonName`, else its one
 * `PersonInImage`, else its `Name` (a region's free-text name: read as a person's only where
 * the region says it is of a person, `RCtype` human, face or headshot, or says nothing of
 * what it holds, as ExifTool reads it). Circles and polygons are not read.
 */
export function iptcRegions(regions: unknown, stored: { width: number; height: number }): MwgRegion[] {
  if (!Array.isArray(regions)) return [];
  return regions.flatMap((r: IptcRegion | null) => {
    const b = r?.RegionBoundary;
    if (!b || String(b.RbShape ?? '').toLowerCase() !== 'rectangle') return [];
    const pixel = String(b.RbUnit ?? '').toLowerCase() === 'pixel';
    const [x, y, w, h] = [b.RbX, b.RbY, b.RbW, b.RbH].map(Number);
    if (![x, y, w, h].every(Number.isFinite) || !(w > 0 && h > 0)) return [];
    const [sx, sy] = pixel ? [stored.width, stored.height] : [1, 1];
    const name = iptcPersonOf(r);
    if (!name) return [];
    return [{ Area: { X: (x + w / 2) / sx, Y: (y + h / 2) / sy, W: w / sx, H: h / sy, Unit: 'normalized' }, Name: name, Type: 'Face' }];
  });
}

/** An IPTC image region as ExifTool reads it (the fields iptcRegions reads). */
interface IptcRegion {
  RegionBoundary?: { RbShape?: unknown; RbUnit?: unknown; RbX?: unknown; RbY?: unknown; RbW?: unknown; RbH?: unknown };
  RCtype?: { Identifier?: unknown }[];
  Name?: unknown;
  PersonInImage?: unknown;
  PersonInImageWDetails?: { PersonName?: unknown }[];
}

/** The IPTC region content types of a person (NewsCodes imageregiontype). */
const PERSON_TYPES = new Set(['human', 'face', 'headshot']);

/** The person an IPTC region names (iptcRegions), or ''. */
function iptcPersonOf(r: IptcRegion): string {
  const one = (list: unknown[]) => (list.length === 1 ? nameOf(list[0]) : '');
  const details = Array.isArray(r.PersonInImageWDetails) ? r.PersonInImageWDetails.map((p) => p?.PersonName).filter((n) => nameOf(n)) : [];
  if (details.length) return one(details);
  const people = Array.isArray(r.PersonInImage) ? r.PersonInImage.filter((n) => nameOf(n)) : typeof r.PersonInImage === 'string' ? [r.PersonInImage] : [];
  if (people.length) return one(people);
  const types = (Array.isArray(r.RCtype) ? r.RCtype : []).flatMap((t) => (Array.isArray(t?.Identifier) ? t.Identifier : [t?.Identifier])).filter((i): i is string => typeof i === 'string');
  const ofPerson = !types.length || types.some((i) => PERSON_TYPES.has(i.replace(/\/+$/, '').split('/').at(-1)!));
  return ofPerson ? nameOf(r.Name) : '';
}

/**
 * The named face regions of other tools in a photo, from each place a tool may have put them,
 * in order of precedence (`places`: its sidecar's, then the photo's own; each MWG's, then
 * Microsoft's). facegpu's own (remembered in `before`) are left out; so is a region at a face
 * an earlier place names already: a tool that writes both places names a face once, and where
 * two places disagree the first one's name is read (the sidecar: a tool that keeps one writes
 * its changes there, and may leave the photo as the camera or an older tool left it).
 */
export function otherNamedRegions(places: readonly (readonly MwgRegion[])[], before: readonly WrittenRegion[]): { name: string; area: RegionArea }[] {
  const named: { name: string; area: RegionArea }[] = [];
  for (const regions of places) {
    const earlier = named.length;
    for (const r of regions) {
      const area = areaOf(r);
      const name = nameOf(r.Name);
      if (!area || !name || !isFace(r) || writtenBy(before, r, area)) continue;
      if (named.slice(0, earlier).some((n) => sameFace(n.area, area))) continue;
      named.push({ name, area });
    }
  }
  return named;
}

/**
 * The named face regions of other tools in a photo (otherNamedRegions, from its `places` in
 * order of precedence) matched to the faces facegpu found there, one to one, best overlap
 * first (above MATCH_IOU). Regions with no face of facegpu's under them come back with `face`
 * null.
 */
export function matchRegions(places: readonly (readonly MwgRegion[])[], faces: readonly { face: number; area: RegionArea }[], before: readonly WrittenRegion[]): { name: string; face: number | null }[] {
  const named = otherNamedRegions(places, before);
  const pairs = named.flatMap((r, i) => faces.map((f) => ({ i, face: f.face, iou: boxIou(rect(r.area), rect(f.area)) })));
  pairs.sort((a, b) => b.iou - a.iou);
  const faceOf = new Map<number, number>();
  const taken = new Set<number>();
  for (const p of pairs) {
    if (p.iou <= MATCH_IOU || faceOf.has(p.i) || taken.has(p.face)) continue;
    faceOf.set(p.i, p.face);
    taken.add(p.face);
  }
  return named.map((r, i) => ({ name: r.name, face: faceOf.get(i) ?? null }));
}
