// A/B of the whole forward pass in one process: the engine of this tree against the engine of
// another checkout of facegpu (an older commit unpacked somewhere), on one device, the same
// backbone and input, batches interleaved so that machine load hits both sides alike.
//
//   npx tsx bench/ab-forward.ts /tmp/old [--batch 8] [--rounds 15]
//
// Prints the median and the spread of ms per batch for each side and their ratio.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createNodeGpu } from '../src/gpu/node-gpu.ts';
import { loadShaders } from '../src/gpu/shaders-node.ts';
import { MobileNetEngine } from '../src/mobilenet/engine.ts';
import { loadBackbone } from '../src/weights/store.ts';
import { resolveBackboneDir } from '../src/backbones.ts';

interface Side {
  name: string;
  forward(pixels: Uint8Array, n: number): void;
  onDone(): Promise<void>;
  destroy(): void;
}

const args = process.argv.slice(2);
const other = args.find((a) => !a.startsWith('--'));
const flag = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
if (!other) throw new Error('usage: tsx bench/ab-forward.ts <other facegpu checkout> [--batch 8] [--rounds 15]');
const batch = flag('batch', 8);
const rounds = flag('rounds', 15);

const gpu = await createNodeGpu();
const backbone = await loadBackbone(resolveBackboneDir('face'));
const root = resolve(other);
const old = await import(pathToFileURL(`${root}/src/mobilenet/engine.ts`).href);
const oldShaders = (await import(pathToFileURL(`${root}/src/gpu/shaders-node.ts`).href)).loadShaders();
const sides: Side[] = [
  Object.assign(new old.MobileNetEngine(gpu, backbone, oldShaders), { name: `other (${root})` }),
  Object.assign(new MobileNetEngine(gpu, backbone, loadShaders()), { name: 'this tree' }),
];
const s = backbone.manifest.inputSize;
const pixels = new Uint8Array(batch * s * s * 3);
for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 2654435761) >>> 24;

const times: number[][] = sides.map(() => []);
for (const side of sides) {
  side.forward(pixels, batch); // plans, first-use costs
  await side.onDone();
}
for (let r = 0; r < rounds; r++) {
  // Alternate which side goes first, so neither always follows the other.
  const order = r % 2 ? [1, 0] : [0, 1];
  for (const i of order) {
    const t0 = performance.now();
    sides[i].forward(pixels, batch);
    await sides[i].onDone();
    times[i].push(performance.now() - t0);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
sides.forEach((side, i) => {
  const xs = [...times[i]].sort((a, b) => a - b);
  console.log(`${side.name}: median ${median(xs).toFixed(1)} ms per batch of ${batch} (min ${xs[0].toFixed(1)}, max ${xs[xs.length - 1].toFixed(1)}, ${rounds} rounds)`);
});
console.log(`this tree / other: ${(median(times[1]) / median(times[0])).toFixed(3)}`);
sides.forEach((side) => side.destroy());
gpu.destroy();
