// facegpu weights export <backbone> --onnx <file>: a converted backbone as an ONNX model
// (src/weights/onnx.ts), for ONNX Runtime and every other ONNX tool.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { PROJECT_ROOT, resolveBackboneDir } from '../backbones.ts';
import { writeFileAtomic } from '../atomic-fs.ts';
import { checkOutputFile } from '../out-dir.ts';
import { loadBackbone } from '../weights/store.ts';

export async function exportCommand(backbone: string, opts: { onnx: string }): Promise<void> {
  const file = opts.onnx;
  // Before any work: a folder, FIFO, socket, device or dangling link there, or a folder that
  // cannot take the file (/proc, read-only, full), is one line now, not a loss after it all.
  // The model is about as big as the float32 weights it holds.
  const dir = resolveBackboneDir(backbone);
  const needBytes = (() => {
    try {
      return statSync(join(dir, 'weights.bin')).size;
    } catch {
      return undefined; // no backbone there: loadBackbone says so
    }
  })();
  await checkOutputFile(file, { name: '--onnx', needBytes });
  const b = await loadBackbone(dir);
  // Loaded here, not at start-up: the ONNX schema is only needed by this command.
  const { backboneToOnnx, ONNX_INPUT, ONNX_OPSET, ONNX_OUTPUT } = await import('../weights/onnx.ts');
  const m = b.manifest;
  let version = '';
  try {
    version = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')).version;
  } catch {
    // no package.json beside the sources: leave the version out
  }
  const bytes = backboneToOnnx(b, { producerVersion: version });
  await writeFileAtomic(file, bytes);
  const s = m.inputSize;
  console.log(
    `${file}: ONNX opset ${ONNX_OPSET}, ${m.id} (MobileNet V1 alpha ${m.alpha}), ${(bytes.byteLength / 1e6).toFixed(1)} MB; ` +
      `input "${ONNX_INPUT}" float32 [batch, ${s}, ${s}, 3] NHWC RGB 0..255 (preprocess ${m.preprocess.range} inside), output "${ONNX_OUTPUT}" float32 [batch, ${m.outputDim}]`,
  );
}

/** `weights export` under the `weights` command. */
export function registerWeightsExport(weights: Command): void {
  weights
    .command('export')
    .description('write a converted backbone as an ONNX model (same float32 weights, BatchNorm folded)')
    .argument('[backbone]', 'name under weights/ or a converted folder', 'face')
    .requiredOption('--onnx <file>', 'the .onnx file to write')
    .action((backbone: string, opts: { onnx: string }) => exportCommand(backbone, opts));
}
