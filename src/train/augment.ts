// Augmentation as the original Keras recipe did it, computed on the GPU by
// shaders/augment.wgsl. The CPU draws each view's parameters from a seeded stream (per image
// and view, so a view does not depend on which batch it fell in) and folds them into one
// output->source affine map; the shader samples (its op: src/kernels/augment.ts).
// Browser-safe: no WebGPU here at all.
import { deriveSeed, Prng } from './prng.ts';

export interface AugmentRecipe {
  /** Rotation drawn uniformly in [-rotation, rotation] degrees. */
  rotation: number;
  /** Shifts drawn uniformly in [-s, s] times the image width / height. */
  widthShift: number;
  heightShift: number;
  /** Mirror left-right with probability 1/2. */
  horizontalFlip: boolean;
  /** Keras' interpolation_order: 1 bilinear (its default), 0 nearest. */
  interpolation: 'bilinear' | 'nearest';
}

/** ImageDataGenerator(rotation_range=45, width_shift_range=0.3, height_shift_range=0.3, horizontal_flip=True, fill_mode='nearest'). */
export const KERAS_RECIPE: AugmentRecipe = Object.freeze({
  rotation: 45,
  widthShift: 0.3,
  heightShift: 0.3,
  horizontalFlip: true,
  interpolation: 'bilinear',
});

export interface ViewParams {
  /** Degrees, counter-clockwise in (row, col) terms as Keras' rotation matrix. */
  theta: number;
  /** Shift in pixels along rows (Keras' tx) and columns (ty). */
  tx: number;
  ty: number;
  flip: boolean;
}

/** The parameters of view `view` of image `image` (any stable id), as Keras' get_random_transform draws them. */
export function drawView(recipe: AugmentRecipe, seed: number, image: string | number, view: number, width: number, height: number): ViewParams {
  const rng = new Prng(deriveSeed(seed, 'augment', image, view));
  const theta = recipe.rotation ? rng.uniform(-recipe.rotation, recipe.rotation) : 0;
  const tx = recipe.heightShift ? rng.uniform(-recipe.heightShift, recipe.heightShift) * height : 0;
  const ty = recipe.widthShift ? rng.uniform(-recipe.widthShift, recipe.widthShift) * width : 0;
  const flip = recipe.horizontalFlip ? rng.next() < 0.5 : false;
  return { theta, tx, ty, flip };
}

/**
 * The output->source map [a, b, c, d, e, f] of a view: output pixel (x, y) samples the
 * source at (a*x + b*y + c, d*x + e*y + f). Keras builds, in (row, col) coordinates about
 * the centre o = (size - 1) / 2, source = o + R(theta) (out - o + (tx, ty)), then flips the
 * result left-right; the flip is folded in here as out_col -> W - 1 - out_col.
 */
export function viewAffine(v: ViewParams, width: number, height: number): [number, number, number, number, number, number] {
  const rad = (v.theta * Math.PI) / 180;
  const cos = Math.cos(rad);
  const sin = Math.sin(rad);
  const or = (height - 1) / 2;
  const oc = (width - 1) / 2;
  const f = v.flip ? -1 : 1;
  const g = v.flip ? width - 1 : 0;
  // src_row = or + cos*(r - or + tx) - sin*(c' - oc + ty), src_col = oc + sin*(r - or + tx) + cos*(c' - oc + ty), c' = f*c + g.
  const rowConst = or + cos * (v.tx - or) - sin * (g - oc + v.ty);
  const colConst = oc + sin * (v.tx - or) + cos * (g - oc + v.ty);
  // x = column, y = row.
  return [cos * f, sin, colConst, -sin * f, cos, rowConst];
}

export const VIEW_FLOATS = 8;

/** Pack views (affine map + which source image) into the shader's storage layout. */
export function packViews(views: readonly { affine: readonly number[]; source: number }[]): Float32Array {
  const data = new Float32Array(Math.max(1, views.length) * VIEW_FLOATS);
  const bits = new Uint32Array(data.buffer);
  views.forEach((v, i) => {
    data.set(v.affine.slice(0, 6), i * VIEW_FLOATS);
    bits[i * VIEW_FLOATS + 6] = v.source;
  });
  return data;
}
