// clusterFaces on real descriptors: ORL s1-s10 (100 studio portraits of 10 people) through the
// default face pipeline, normalised as a gallery of this backbone stores them, labels hidden.
// The bar is below what the full measurement gives on ORL's 40 people (ARI 0.957,
// src/library/README.md) so that it tests the pipeline and the defaults together, not luck.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine } from '../src/node.ts';
import { openFaceDescriber, describeFiles } from '../src/faces/node.ts';
import { largestFace } from '../src/faces/describe.ts';
import { DEFAULT_PREPROCESSING } from '../src/faces/framing.ts';
import { normalise } from '../src/gallery/normalise.ts';
import { referenceFor } from '../src/identity/node.ts';
import { clusterFaces } from '../src/library/cluster.ts';
import { clusterQuality } from '../src/library/cluster-quality.ts';
import { ORL } from './helpers/faces.ts';

const PEOPLE = 10;
let x: Float32Array;
let dim: number;
let truth: string[];
let close: () => void;

beforeAll(async () => {
  const { gpu, engine } = await openEngine();
  const describer = await openFaceDescriber(gpu, engine, DEFAULT_PREPROCESSING);
  close = () => {
    describer.destroy();
    engine.destroy();
    gpu.destroy();
  };
  const files = Array.from({ length: PEOPLE }, (_, p) => readdirSync(join(ORL, `s${p + 1}`)).sort().map((f) => ({ file: join(ORL, `s${p + 1}`, f), person: `s${p + 1}` }))).flat();
  const found = await describeFiles(describer, files.map((f) => f.file));
  dim = engine.outputDim;
  const raw: Float32Array[] = [];
  truth = [];
  found.forEach((r, i) => {
    if ('error' in r) throw new Error(r.error);
    if (!r.faces.length) return;
    raw.push(r.faces[largestFace(r.faces)].descriptor);
    truth.push(files[i].person);
  });
  const flat = new Float32Array(raw.length * dim);
  raw.forEach((d, i) => flat.set(d, i * dim));
  const reference = await referenceFor(engine);
  x = normalise(flat, dim, reference?.normalisation ?? { method: 'l2' });
});
afterAll(() => close?.());

describe('clusterFaces on ORL descriptors (labels hidden)', () => {
  it('finds the 10 people with few mistakes and little noise', () => {
    expect(truth.length).toBeGreaterThanOrEqual(95);
    const r = clusterFaces(x, dim, new Array(truth.length).fill(null));
    const labels = new Array<number>(truth.length).fill(-1);
    for (const c of r.clusters) for (const f of c.faces) labels[f] = c.id;
    const q = clusterQuality(labels, truth);
    expect(q.clusters).toBeGreaterThanOrEqual(PEOPLE - 1);
    expect(q.clusters).toBeLessThanOrEqual(PEOPLE + 1);
    expect(q.precision).toBeGreaterThan(0.9);
    expect(q.recall).toBeGreaterThan(0.9);
    expect(q.ari).toBeGreaterThan(0.9);
    expect(q.noiseFraction).toBeLessThan(0.05);
  });
});
