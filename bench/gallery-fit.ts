// The descriptor model (descriptor-model.ts) fitted to the faces of a user's gallery instead of
// the shipped fit (calibration/<backbone>.faces-model.json), so the gallery benchmark can draw
// faces like that gallery's: its named people are the identities, their stored descriptors the
// faces. A gallery stores its descriptors normalised already (src/gallery/gallery-format.ts:
// unit rows, with the gallery's own record, `mean-l2` or `l2`), as the index sees them and as
// the fit expects: they are fitted as stored, never normalised again.
//
// The fit's PCA runs on a Gram matrix of the faces (cyclic Jacobi, bench/eigen.ts, cubic in
// faces: 300 faces 2 s, 600 faces 15 s, 1000 faces 100 s on a 2-core machine), so at most
// `maxFaces` faces are used, spread evenly over the people and within each person's faces.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DESCRIPTORS_FILE, descriptorsFromBytes } from '../src/gallery/gallery-format.ts';
import { describeNormalisation } from '../src/gallery/normalise.ts';
import { readGalleryJson } from '../src/gallery/store-node.ts';
import { fitDescriptorModel, modelFromJson, modelToJson, type DescriptorModel } from './descriptor-model.ts';

export interface GalleryFitOptions {
  /** Principal directions between identities (the shipped fit's 16). */
  kBetween: number;
  /** Principal directions within an identity (the shipped fit's 32). */
  kWithin: number;
  /** At most this many faces are fitted (the PCA is cubic in faces). */
  maxFaces: number;
}

/** The shipped fit's shape (scripts/fit-descriptor-model.ts), and a face budget of a few seconds. */
export const GALLERY_FIT: GalleryFitOptions = { kBetween: 16, kWithin: 32, maxFaces: 500 };

/**
 * What a fit needs: kBetween + 2 people (the centres' kBetween directions leave some spread
 * for the isotropic rest, else every drawn identity lies in kBetween dimensions), each with 2
 * or more faces (one face has no spread around its person), and kWithin + 1 more faces than
 * people (the same for the faces around their centres).
 */
export function fitMinimum(opts: Pick<GalleryFitOptions, 'kBetween' | 'kWithin'> = GALLERY_FIT): { people: number; facesBeyondPeople: number } {
  return { people: opts.kBetween + 2, facesBeyondPeople: opts.kWithin + 1 };
}

/** Where a fitted model comes from, for the benchmark's result. */
export interface GalleryFitSource {
  /** The gallery folder, resolved. */
  gallery: string;
  backbone: string;
  /** The gallery's normalisation, its stored descriptors' (fitted as stored). */
  normalisation: string;
  /** Named people and faces of the gallery. */
  galleryPeople: number;
  galleryFaces: number;
  /** People (2 or more faces) and faces fitted. */
  people: number;
  faces: number;
  kBetween: number;
  kWithin: number;
}

export interface GalleryFitFaces {
  source: Omit<GalleryFitSource, 'kBetween' | 'kWithin'>;
  dim: number;
  /** Stored (unit) descriptors [faces, dim] of the people fitted. */
  x: Float32Array;
  /** Row i's person, 0..people-1. */
  person: Int32Array;
}

/** count indices spread evenly over 0..n-1 (all of them when count >= n). */
const spread = (n: number, count: number): number[] => (count >= n ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: count }, (_, i) => Math.floor((i * n) / count)));

/**
 * The faces of the gallery at dir to fit, checked before any work beyond gallery.json: a
 * missing folder, one that is not a gallery, or too few named people or faces for the fit is
 * one line naming the folder.
 */
export async function galleryFacesForFit(dir: string, opts: GalleryFitOptions = GALLERY_FIT): Promise<GalleryFitFaces> {
  const json = await readGalleryJson(dir);
  const min = fitMinimum(opts);
  const rowOf = new Map(json.faces.map((f, row) => [f.id, row]));
  const eligible = json.people.filter((p) => p.faces.length >= 2);
  // As many faces per person as the budget allows (at least 2), then fewer people if 2 each is too many.
  const people = spread(eligible.length, Math.max(1, Math.floor(opts.maxFaces / 2))).map((i) => eligible[i]);
  let perPerson = 2;
  const total = (c: number) => people.reduce((t, p) => t + Math.min(p.faces.length, c), 0);
  while (total(perPerson + 1) <= opts.maxFaces && total(perPerson + 1) > total(perPerson)) perPerson++;
  const rows = people.map((p) => spread(p.faces.length, perPerson).map((i) => rowOf.get(p.faces[i]) as number));
  const faces = rows.reduce((t, r) => t + r.length, 0);
  if (people.length < min.people || faces - people.length < min.facesBeyondPeople) {
    throw new Error(
      `${dir}: ${eligible.length} of its ${json.people.length} named people ${eligible.length === 1 ? 'has' : 'have'} 2 or more faces (${faces} faces to fit); ` +
        `fitting the descriptor model needs at least ${min.people} such people (${opts.kBetween} directions between people + 2) and ${min.facesBeyondPeople} more faces than people (${opts.kWithin} directions within a person + 1)`,
    );
  }
  const descFile = join(resolve(dir), DESCRIPTORS_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(descFile);
  } catch (err) {
    throw new Error(`${descFile}: the gallery's descriptors are missing (${(err as NodeJS.ErrnoException).code})`);
  }
  const all = descriptorsFromBytes(bytes, json.faces.length, json.dim, descFile);
  const dim = json.dim;
  const x = new Float32Array(faces * dim);
  const person = new Int32Array(faces);
  let at = 0;
  rows.forEach((r, p) => {
    for (const row of r) {
      x.set(all.subarray(row * dim, (row + 1) * dim), at * dim);
      person[at++] = p;
    }
  });
  return {
    source: { gallery: resolve(dir), backbone: json.backbone.id, normalisation: describeNormalisation(json.normalisation), galleryPeople: json.people.length, galleryFaces: json.faces.length, people: people.length, faces },
    dim,
    x,
    person,
  };
}

export interface GalleryFit {
  /** The model as its text reads back (components float16, like a model file's): what is drawn from. */
  model: DescriptorModel;
  /** The model file's text (modelToJson): keys the cache of drawn faces; the same faces give the same text. */
  text: string;
  fittedFrom: GalleryFitSource;
}

/** Fit the descriptor model to a gallery's faces (galleryFacesForFit). */
export function fitGalleryModel(f: GalleryFitFaces, opts: GalleryFitOptions = GALLERY_FIT): GalleryFit {
  const s = f.source;
  const source = `${s.faces} faces of ${s.people} named people of the gallery ${s.gallery} (of its ${s.galleryFaces} faces, ${s.galleryPeople} people), backbone ${s.backbone}, as stored: ${s.normalisation}`;
  const fit = fitDescriptorModel(f.x, f.dim, f.person, { kBetween: opts.kBetween, kWithin: opts.kWithin, source });
  const numbers = [fit.spread.identitySd, fit.spread.faceSd, fit.between.residualSd, fit.within.residualSd, ...fit.between.sd, ...fit.within.sd];
  if (!numbers.every(Number.isFinite) || !fit.mu.every(Number.isFinite)) throw new Error(`${s.gallery}: fitting the descriptor model gave non-finite numbers (a person whose faces are all the same descriptor?)`);
  const fittedFrom: GalleryFitSource = { ...s, kBetween: fit.between.sd.length, kWithin: fit.within.sd.length };
  const text = JSON.stringify(modelToJson(fit, { backbone: s.backbone, normalisation: s.normalisation, fittedFrom }), null, 1) + '\n';
  return { model: modelFromJson(JSON.parse(text), s.gallery), text, fittedFrom };
}
