// Fits the synthetic face model the gallery benchmark draws its million faces from
// (bench/descriptor-model.ts) to real descriptors, and checks it against them. Writes
// calibration/<backbone>.faces-model.json (components as float16: small enough to commit).
//   npx tsx scripts/fit-descriptor-model.ts [--backbone face] [--shared ../shared]
//     [--cache /tmp/real-descriptors] [--k-between 16] [--k-within 32] [--out calibration]
//
// Real descriptors: every photo of ORL (40 people) and 5-celebrity-faces (train + val, 5
// people), best face each, through the faces pipeline (scripts/real-descriptors.ts), normalised
// as galleries store them: `mean-l2` with the backbone's calibration/<backbone>.json mean.
// --cache keeps the pipeline's answers (scripts/dataset-faces.ts; cluster-quality.ts reads the
// same cache).
// Check: genuine and impostor cosines of the real faces against those of 300 synthetic
// identities x 10 faces (bench/pair-stats.ts), printed and kept in the file.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../src/atomic-fs.ts';
import { normalise } from '../src/gallery/normalise.ts';
import { readDefaultCalibration } from '../src/gallery/store-node.ts';
import { Prng, deriveSeed } from '../src/train/prng.ts';
import { DescriptorSampler, fitDescriptorModel, modelToJson } from '../bench/descriptor-model.ts';
import { pairStats } from '../bench/pair-stats.ts';
import { realDescriptors } from './real-descriptors.ts';

const { values: args } = parseArgs({
  options: {
    backbone: { type: 'string', default: 'face' },
    shared: { type: 'string', default: resolve(import.meta.dirname, '../../shared') },
    cache: { type: 'string' },
    'k-between': { type: 'string', default: '16' },
    'k-within': { type: 'string', default: '32' },
    out: { type: 'string', default: resolve(import.meta.dirname, '../calibration') },
  },
});
const calibration = await readDefaultCalibration(resolve(import.meta.dirname, '../calibration', `${args.backbone}.json`));
const real = await realDescriptors(join(args.shared!, 'datasets'), args.cache ?? null, args.backbone);
const { dim } = real;
const x = normalise(real.raw, dim, calibration.normalisation);
const t = performance.now();
const source = `${real.files.length} faces of ${real.people.length} people (ORL s1-s40 and 5-celebrity-faces train+val, best face per photo), backbone ${args.backbone}, normalised mean-l2 with calibration/${args.backbone}.json`;
const model = fitDescriptorModel(x, dim, real.person, { kBetween: Number(args['k-between']), kWithin: Number(args['k-within']), source });
console.error(`fitted in ${((performance.now() - t) / 1000).toFixed(1)} s`);

const sampler = new DescriptorSampler(model, 1);
const ids = 300;
const per = 10;
const synth = new Float32Array(ids * per * dim);
const synthPerson = new Int32Array(ids * per);
const draws = new Prng(deriveSeed(1, 'check'));
for (let p = 0; p < ids; p++) {
  const c = sampler.identity(p);
  for (let f = 0; f < per; f++) {
    sampler.face(c, draws, synth.subarray((p * per + f) * dim, (p * per + f + 1) * dim));
    synthPerson[p * per + f] = p;
  }
}
// Real pairs are weighted by faces per person squared (a celebrity with 27 web photos gives 7x
// the pairs of an ORL sitter with 10): the same faces cut to 10 per person weigh each identity
// as the synthetic check does.
const seen = new Map<number, number>();
const ten = real.person.map((p, i) => ((seen.set(p, (seen.get(p) ?? 0) + 1).get(p) as number) <= per ? i : -1)).filter((i) => i >= 0);
const xTen = new Float32Array(ten.length * dim);
ten.forEach((i, k) => xTen.set(x.subarray(i * dim, (i + 1) * dim), k * dim));
const check = { real: pairStats(x, dim, real.person), realTenPerPerson: pairStats(xTen, dim, ten.map((i) => real.person[i])), synthetic: pairStats(synth, dim, synthPerson) };
console.log(JSON.stringify(check, null, 1));
const sd = (p: typeof model.between) => ({ top: p.sd.slice(0, 4).map((v) => Number(v.toFixed(4))), residualSd: Number(p.residualSd.toFixed(5)) });
console.log('spread', model.spread, 'between', sd(model.between), 'within', sd(model.within));
const file = join(args.out!, `${args.backbone}.faces-model.json`);
await writeFileAtomic(file, JSON.stringify(modelToJson(model, { backbone: calibration.backbone, normalisation: 'mean-l2 (calibration/<backbone>.json)', fittedOn: { faces: real.files.length, people: real.people.length }, kBetween: model.between.sd.length, kWithin: model.within.sd.length, check }), null, 1) + '\n');
console.error(`wrote ${file}`);
