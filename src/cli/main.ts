#!/usr/bin/env node
// The facegpu command line. Each subcommand lives in its own file; this one only wires them.
import { Command } from 'commander';
import { registerBench } from './bench.ts';
import { registerEnroll } from './enroll.ts';
import { registerGallery } from './gallery.ts';
import { registerIdentify } from './identify.ts';
import { registerVerify } from './verify.ts';
import { embedCommand } from './embed.ts';
import { registerEval } from './eval.ts';
import { registerPredict } from './predict.ts';
import { registerTrain } from './train.ts';
import { convertCommand, infoCommand, installCommand } from './weights.ts';
import { MAX_IMAGE_PIXELS, parseMaxPixels, setMaxImagePixels } from '../image/decode.ts';

const program = new Command();
program
  .name('facegpu')
  .description('Face recognition by transfer learning on WebGPU: MobileNet V1 on our own WGSL shaders')
  .option('--adapter <name>', 'WebGPU adapter: auto, lavapipe, swiftshader, or part of an adapter name', process.env.FACEGPU_ADAPTER)
  .option('--max-pixels <n>', `largest image decoded, width x height (default ${MAX_IMAGE_PIXELS} = 8192x8192; also FACEGPU_MAX_PIXELS)`)
  .hook('preAction', () => {
    const max = program.opts().maxPixels as string | undefined;
    if (max !== undefined) setMaxImagePixels(parseMaxPixels(max));
  });

program
  .command('embed')
  .description('print the descriptors of images')
  .argument('<images...>', 'image files')
  .option('--backbone <name|dir>', 'backbone under weights/ or a converted folder', 'face')
  .option('--json', 'print [{"file", "embedding"}] as JSON (an unreadable file: {"file", "error"} in its place)')
  .option('--batch-size <n>', 'images per forward pass', '16')
  .action((images: string[], opts) => embedCommand(images, { ...opts, adapter: program.opts().adapter }));

registerTrain(program);
registerPredict(program);
registerEval(program);
registerBench(program);
registerEnroll(program);
registerIdentify(program);
registerVerify(program);
registerGallery(program);

const weights = program.command('weights').description('convert and inspect backbones');
weights
  .command('convert')
  .description('convert a TensorFlow.js MobileNet V1 (graph or layers model.json) to facegpu format')
  .argument('<model.json>', 'a model.json path, or an http(s) URL to download (cached, with checksums)')
  .requiredOption('--out <dir>', 'output folder, e.g. weights/<name>')
  .option('--sha256 <hex>', 'expected sha256 of a downloaded model.json')
  .option('--input <range>', 'input range the model expects: raw (0..255) or signed (-1..1); default: raw for graph models, signed for layers models')
  .action((model: string, opts) => convertCommand(model, opts));
weights
  .command('install')
  .description('convert the default face backbone from @vladmandic/human (done by npm run setup)')
  .option('--force', 'convert again even if up to date')
  .action((opts) => installCommand(opts));
weights
  .command('info')
  .description('show a converted backbone')
  .argument('[backbone]', 'name or folder', 'face')
  .action((b: string) => infoCommand(b));

export { program };

program.parseAsync(process.argv).catch((err: Error) => {
  console.error(`facegpu: ${err.message}`);
  process.exitCode = 1;
});
