// A photo with its faces drawn on it (Node, sharp), for checking answers by eye: each face's
// box in its person's colour (a stranger's grey), with the name and similarity on a band above
// it (inside the box where the photo's top edge leaves no room). Boxes are in the pixels of
// the photo as decoded, turned upright by its EXIF orientation, which is what is drawn on.
// Lines scale with the photo, letters with each face within bounds set by the photo, so they
// read on a 92-pixel portrait and on a 12-megapixel group photo shrunk to a screen.
import sharp, { type Sharp } from 'sharp';
import type { RgbImage } from '../image/rgb.ts';
import { escapeXml } from '../image/svg.ts';

/** What is drawn for a face: its box [x, y, w, h] in the photo's pixels, who (null: unknown) and how similar. */
export interface FaceMark {
  box: readonly [number, number, number, number] | readonly number[];
  label: string | null;
  similarity: number;
}

const PALETTE = ['#4f46e5', '#0ea5a3', '#e11d48', '#d97706', '#7c3aed', '#0284c7', '#16a34a', '#c026d3', '#ea580c', '#0f766e'];
/** A face nobody enrolled reaches. */
export const UNKNOWN_COLOUR = '#9ca3af';

/** The same colour for a person in every photo and every run: from their name. */
export function colourOf(label: string | null): string {
  if (label === null) return UNKNOWN_COLOUR;
  let h = 2166136261;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 16777619);
  return PALETTE[(h >>> 0) % PALETTE.length];
}

/** The SVG of the marks over a width x height photo. */
export function marksSvg(width: number, height: number, faces: readonly FaceMark[]): string {
  const longer = Math.max(width, height);
  const line = Math.max(2, Math.round(longer / 400));
  const parts: string[] = [];
  for (const f of faces) {
    const [x, y, w, h] = f.box;
    // Letters a third of the face's width, within what reads on the photo shrunk to a screen
    // (a 160th of its longer side) and what hides no neighbour (a 55th).
    const font = Math.max(11, Math.round(Math.min(longer / 55, Math.max(longer / 160, w / 3))));
    const band = Math.round(font * 1.35);
    const colour = colourOf(f.label);
    const text = `${f.label ?? 'unknown'}${Number.isFinite(f.similarity) ? ` ${f.similarity.toFixed(2)}` : ''}`;
    parts.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="none" stroke="${colour}" stroke-width="${line}"/>`);
    // Letters are about 0.6 of the font size wide in a sans-serif face.
    const textWidth = Math.round(text.length * font * 0.6 + font * 0.6);
    const top = y - band >= 0 ? y - band : y;
    const left = Math.max(0, Math.min(x - line / 2, width - textWidth));
    parts.push(`<rect x="${left.toFixed(1)}" y="${top.toFixed(1)}" width="${textWidth}" height="${band}" fill="${colour}"/>`);
    parts.push(`<text x="${(left + font * 0.3).toFixed(1)}" y="${(top + band * 0.78).toFixed(1)}" font-family="sans-serif" font-size="${font}" font-weight="600" fill="white">${escapeXml(text)}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** `image` as a JPEG with `faces` drawn on it. */
export async function annotatedJpeg(image: RgbImage, faces: readonly FaceMark[], quality = 90): Promise<Buffer> {
  const { width, height } = image;
  return rawInput(image)
    .composite([{ input: Buffer.from(marksSvg(width, height, faces)), left: 0, top: 0 }])
    // Full-resolution colour: halved, thin coloured lines bleed into the grey around them.
    .jpeg({ quality, chromaSubsampling: '4:4:4' })
    .toBuffer();
}

/**
 * A face on a contact sheet: its tile (faceTile; null: a blank one, for a photo that cannot be
 * read) and a caption (its id, say). Tiles are cut photo by photo before the sheet is drawn, so
 * that a sheet of many photos never holds them all decoded at once.
 */
export interface SheetFace {
  tile: Buffer | null;
  caption?: string;
}

/** Pixels of each face on a sheet, and faces per row. */
const SHEET_TILE = 128;
const SHEET_COLUMNS = 6;
const SHEET_GAP = 6;
const SHEET_HEAD = 34;
/** Height of a tile's caption band. */
const SHEET_CAPTION = 18;

/**
 * A contact sheet of faces as a JPEG: their tiles (faceTile) in rows of SHEET_COLUMNS under a
 * `title` line, each with its caption on its lower edge: what a person looks at to say who a
 * group of faces is (and which of them is not).
 */
export async function faceSheetJpeg(faces: readonly SheetFace[], title: string, quality = 88): Promise<Buffer> {
  const cols = Math.max(1, Math.min(SHEET_COLUMNS, faces.length));
  const rows = Math.ceil(faces.length / cols);
  const width = Math.max(cols * (SHEET_TILE + SHEET_GAP) + SHEET_GAP, 480);
  const height = SHEET_HEAD + rows * (SHEET_TILE + SHEET_GAP) + SHEET_GAP;
  const at = (i: number) => ({ left: SHEET_GAP + (i % cols) * (SHEET_TILE + SHEET_GAP), top: SHEET_HEAD + Math.floor(i / cols) * (SHEET_TILE + SHEET_GAP) });
  const blank = { create: { width: SHEET_TILE, height: SHEET_TILE, channels: 3 as const, background: 'black' } };
  const tiles = faces.map((f, i) => ({ input: f.tile ?? blank, ...at(i) }));
  // The title and the captions in one drawing over the whole sheet, put on last.
  const captions = faces.map((f, i) => {
    if (!f.caption) return '';
    const { left, top } = at(i);
    const band = top + SHEET_TILE - SHEET_CAPTION;
    return `<rect x="${left}" y="${band}" width="${SHEET_TILE}" height="${SHEET_CAPTION}" fill="black" fill-opacity="0.6"/><text x="${left + 4}" y="${band + SHEET_CAPTION - 5}" font-family="sans-serif" font-size="13" fill="white">${escapeXml(f.caption)}</text>`;
  });
  const drawing = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><text x="${SHEET_GAP}" y="23" font-family="sans-serif" font-size="16" font-weight="600" fill="white">${escapeXml(title)}</text>${captions.join('')}</svg>`;
  return sharp({ create: { width, height, channels: 3, background: '#202020' } })
    .composite([...tiles, { input: Buffer.from(drawing), left: 0, top: 0 }])
    .jpeg({ quality, chromaSubsampling: '4:4:4' })
    .toBuffer();
}

/**
 * A face's tile for a contact sheet: the square around its box [x, y, w, h] (half as wide
 * again, so hair and chin show; black where it passes the photo's edge), SHEET_TILE pixels, PNG.
 */
export async function faceTile(image: RgbImage, box: readonly number[]): Promise<Buffer> {
  const [x, y, w, h] = box;
  const side = Math.max(1, Math.round(1.5 * Math.max(w, h)));
  const left = Math.round(x + w / 2 - side / 2);
  const top = Math.round(y + h / 2 - side / 2);
  // The part of the square inside the photo, padded black where the square passes its edge
  // (sharp extends after it resizes, so the square is made first, then shrunk).
  const l = Math.max(0, left), t = Math.max(0, top);
  const r = Math.min(image.width, left + side), b = Math.min(image.height, top + side);
  const black = { r: 0, g: 0, b: 0 };
  const square =
    r > l && b > t
      ? await rawInput(image).extract({ left: l, top: t, width: r - l, height: b - t }).extend({ left: l - left, top: t - top, right: left + side - r, bottom: top + side - b, background: black }).raw().toBuffer()
      : Buffer.alloc(side * side * 3);
  return sharp(square, { raw: { width: side, height: side, channels: 3 } }).resize(SHEET_TILE, SHEET_TILE).png().toBuffer();
}

/** sharp over decoded pixels (no copy; no pixel limit: they are decoded already). */
function rawInput(image: RgbImage): Sharp {
  return sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), { raw: { width: image.width, height: image.height, channels: 3 }, limitInputPixels: false });
}
