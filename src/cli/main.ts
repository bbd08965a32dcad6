#!/usr/bin/env node
// The facegpu command line. Each subcommand lives in its own file; this one only wires them.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerDemo } from './demo.ts';
import { registerEnroll } from './enroll.ts';
import { registerGallery } from './gallery.ts';
import { registerIdentify } from './identify.ts';
import { registerIndex } from './index-photos.ts';
import { registerWorker } from './worker.ts';
import { registerSearch } from './search.ts';
import { registerCluster } from './cluster.ts';
import { registerVerify } from './verify.ts';
import { embedCommand } from './embed.ts';
import { registerEval } from './eval.ts';
import { registerPredict } from './predict.ts';
import { registerTrain } from './train.ts';
import { registerTune } from './tune.ts';
import { runCommandLine, withAdapterOption } from './program.ts';
import { convertCommand, infoCommand, installCommand } from './weights.ts';
import { registerWeightsExport } from './weights-export.ts';
import { MAX_IMAGE_PIXELS, maxImagePixels, parseMaxPixels, setMaxImagePixels, setMaxImagePixelsName } from '../image/decode.ts';

/** package.json: two folders up from src/cli/main.ts and from dist/cli/main.js alike. */
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command();
// Commander's own errors (an unknown flag, a missing argument) begin as every other line does;
// set before the subcommands are added, which copy it.
program.configureOutput({ outputError: (message, write) => write(`facegpu: ${message}`) });
withAdapterOption(program.name('facegpu').version(version).description('Face recognition by transfer learning on WebGPU: MobileNet V1 on our own WGSL shaders'))
  .option('--max-pixels <n>', `largest image decoded, width x height (default ${MAX_IMAGE_PIXELS} = 8192x8192; also FACEGPU_MAX_PIXELS)`)
  .hook('preAction', () => {
    // The pixel limit is the flag, else FACEGPU_MAX_PIXELS: checked here, before any work,
    // and named as the CLI takes it in messages about too big an image.
    setMaxImagePixelsName('--max-pixels');
    const max = program.opts().maxPixels as string | undefined;
    if (max !== undefined) setMaxImagePixels(parseMaxPixels(max, '--max-pixels'));
    else maxImagePixels();
  });

program
  .command('embed')
  .description('print the descriptors of images')
  .argument('<images...>', 'image files or folders of them')
  .option('--backbone <name|dir>', 'backbone under weights/ or a converted folder', 'face')
  .option('--json', 'print [{"file", "embedding"}] as JSON (an unreadable file: {"file", "error"} in its place)')
  .option('--batch-size <n>', 'images per forward pass', '16')
  .action((images: string[], opts) => embedCommand(images, { ...opts, adapter: program.opts().adapter }));

registerTrain(program);
registerPredict(program);
registerEval(program);
registerDemo(program);
// The benchmark measures this checkout (bench/, results under bench/results): only when run
// from the sources, not from the package (the specifier is computed so the build leaves it out).
if (import.meta.url.endsWith('.ts')) {
  const benchModule = './bench.ts';
  const { registerBench } = (await import(benchModule)) as { registerBench: (p: Command) => void };
  registerBench(program);
}
registerEnroll(program);
registerIdentify(program);
registerVerify(program);
registerGallery(program);
registerIndex(program);
registerWorker(program);
registerSearch(program);
registerCluster(program);
registerTune(program);

const weights = program.command('weights').description('convert and inspect backbones');
weights
  .command('convert')
  .description('convert a MobileNet V1 to facegpu format: a TensorFlow.js graph or layers model.json, or a TFLite .tflite (float or quantized)')
  .argument('<model>', 'a model.json or .tflite path, or an http(s) URL to download (cached, with checksums)')
  .requiredOption('--out <dir>', 'output folder, e.g. weights/<name>')
  .option('--sha256 <hex>', 'expected sha256 of a downloaded model.json, or of the .tflite file')
  .option('--input <range>', 'input range the model expects: raw (0..255) or signed (-1..1); default: raw for graph models, signed for layers models, a TFLite model\'s own input quantization')
  .action((model: string, opts) => convertCommand(model, opts));
weights
  .command('install')
  .description('convert a known backbone: face (default, from @vladmandic/human; done by npm run setup) or imagenet (MobileNet V1 1.0, Coral TFLite, from ../shared or --from)')
  .argument('[name]', 'face or imagenet', 'face')
  .option('--from <path|url>', 'imagenet: the .tflite file to convert')
  .option('--sha256 <hex>', 'imagenet: expected sha256 of that file')
  .option('--force', 'convert again even if up to date')
  .action((name: string, opts) => installCommand({ ...opts, name }));
weights
  .command('info')
  .description('show a converted backbone')
  .argument('[backbone]', 'name or folder', 'face')
  .option('--json', 'print the manifest as JSON: {"id", "alpha", "inputSize", "preprocess", "outputDim", "source", "weightsFile", "weightsBytes", "weightsSha256", "layers": ["<name> <kind> s<stride> <in>-><out> <activation>"], ...}')
  .action((b: string, opts: { json?: boolean }) => infoCommand(b, opts));
registerWeightsExport(weights);

export { program };

runCommandLine(program);
