// The whole forward pass on the tuned kernels against the hand-picked ones, in one process on
// one device: two engines on the same backbone and input, runs interleaved (the order
// alternating per round) so that load from elsewhere on the machine hits both alike.
//
//   npx tsx bench/tuned-vs-hand.ts [--adapter lavapipe] [--tuning <dir>] [--batches 1,8] [--rounds 15]
//
// The tuning is the saved one of this adapter (`facegpu tune [--dir <dir>]`). Prints, per
// batch, the median ms per image of each side, their ratio and the lowest cosine between the
// two sides' descriptors; --json prints the same as one JSON object.
import { createNodeGpu } from '../src/gpu/node-gpu.ts';
import { loadShaders } from '../src/gpu/shaders-node.ts';
import { MobileNetEngine } from '../src/mobilenet/engine.ts';
import { loadBackbone } from '../src/weights/store.ts';
import { resolveBackboneDir } from '../src/backbones.ts';
import { nodeTuningStore } from '../src/tune/store-node.ts';
import { savedTuning } from '../src/tune/tuner.ts';
import { minCosine } from './cosine.ts';
import { stats } from './timing.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const batches = opt('batches', '1,8').split(',').map(Number);
const rounds = Number(opt('rounds', '15'));
const json = args.includes('--json');

const gpu = await createNodeGpu({ adapter: args.includes('--adapter') ? opt('adapter', 'auto') : undefined });
const backbone = await loadBackbone(resolveBackboneDir(opt('backbone', 'face')));
const store = nodeTuningStore(args.includes('--tuning') ? opt('tuning', '') : undefined);
const saved = await savedTuning(gpu, backbone, loadShaders(), store);
if (!saved) throw new Error(`no saved tuning for ${gpu.adapter.id} (${gpu.adapter.description}) in ${store.where('')}: run facegpu tune first`);
const hand = new MobileNetEngine(gpu, backbone, loadShaders(), { tuned: null });
const tuned = new MobileNetEngine(gpu, backbone, loadShaders(), { tuned: saved.kernels });
await Promise.all([hand.ready(), tuned.ready()]);
const sides = [hand, tuned];
const s = backbone.manifest.inputSize;
const rows = [];
for (const n of batches) {
  const pixels = new Uint8Array(n * s * s * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 2654435761) >>> 24;
  const [a, b] = await Promise.all([hand.embed(pixels, n), tuned.embed(pixels, n)]);
  const cos = minCosine(a, b, n);
  const times: number[][] = [[], []];
  for (const side of sides) {
    side.forward(pixels, n); // warm-up
    await side.onDone();
  }
  for (let r = 0; r < rounds; r++) {
    for (const i of r % 2 ? [1, 0] : [0, 1]) {
      const t0 = performance.now();
      sides[i].forward(pixels, n);
      await sides[i].onDone();
      times[i].push((performance.now() - t0) / n);
    }
  }
  const [h, t] = times.map(stats);
  const row = { batch: n, handPickedMsPerImage: h.median, tunedMsPerImage: t.median, speedup: h.median / t.median, minCosine: cos, handPicked: h, tuned: t };
  rows.push(row);
  if (!json) console.log(`batch ${n}: hand-picked ${h.median.toFixed(1)} ms/img (±${(h.spread * 100).toFixed(0)}%), tuned ${t.median.toFixed(1)} ms/img (±${(t.spread * 100).toFixed(0)}%), hand-picked/tuned ${row.speedup.toFixed(3)}, min cosine ${cos.toFixed(7)}, ${rounds} rounds`);
}
if (json) console.log(JSON.stringify({ adapter: gpu.adapter.id, driver: gpu.adapter.description, tuning: store.where(saved.id), tunedBatches: saved.key.batches, rounds, rows }));
hand.destroy();
tuned.destroy();
gpu.destroy();
