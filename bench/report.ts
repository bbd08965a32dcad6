// Presenting results: the table printed on stdout, and the results files (JSON, Markdown, an
// SVG chart) written under bench/results/<adapter>/, each carrying the adapter, driver,
// versions and batch sizes with the figures.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AdapterSummary } from '../src/gpu/device.ts';
import type { Tuning } from '../src/kernels/common.ts';
import { writeFileAtomic } from '../src/weights/store.ts';
import type { EndToEndRow } from './end-to-end.ts';
import type { KernelRow, TimingMethod } from './kernel-rows.ts';
import { ORT_LABEL, ORT_SIDES, type OrtSettings } from './ort-sides.ts';
import type { Stats } from './timing.ts';
import { trainingWorkLines, type TrainingWorkRow } from './training-work.ts';

const TRAINING_WORK_TITLE = "Training work: tfjs' kernels and ours";
const TRAINING_WORK_METHOD =
  "what tfjs runs around the backbone when a recognizer is trained, on tfjs-webgpu's own kernels and then on ours (src/tfjs), one device, one process; wall time until the result is read back (the step's loss, the boxes), median of the repeats";

export interface BenchResult {
  adapter: AdapterSummary & { driver: string };
  environment: Record<string, string | number>;
  settings: {
    backbone: string;
    kernelBatch: number | null;
    batches: number[];
    warmup: number;
    repeats: number;
    kernelRepeats: number;
    gpuRepeats: number;
    kernelTiming: TimingMethod;
    endToEndTiming: string;
    tuning: Tuning;
    /** Where the engine's kernels came from: a saved tuning (facegpu tune) or the hand-picked rules. */
    kernelSource: { source: 'tuned' | 'hand-picked'; file: string | null; tunedBatches: number[] };
    /** Per batch size run: the kernel of every layer (shader + constants). */
    layerKernels: Record<string, { layer: string; shape: string; kernel: string }[]>;
    /** The ONNX Runtime sides, when --ort ran them. */
    ort?: OrtSettings;
  };
  kernels: KernelRow[];
  endToEnd: EndToEndRow[];
  /** tfjs' work around the backbone (head step, face detection) on its kernels and ours. */
  trainingWork: TrainingWorkRow[];
}

const ms = (v: number | null | undefined) => (v == null ? '-' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const pm = (s: Stats | null | undefined) => (s ? `±${(s.spread * 100).toFixed(0)}%` : '');
const ratio = (v: number | null | undefined) => (v == null ? '-' : `${v.toFixed(v >= 10 ? 1 : 2)}x`);
const err = (v: number | null | undefined) => (v == null ? '-' : Number.isNaN(v) ? 'NaN' : v.toExponential(1));

function table(head: string[], rows: string[][], rightAlign: (i: number) => boolean): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (rightAlign(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

export function kernelLines(rows: KernelRow[]): string[] {
  if (!rows.length) return [];
  const head = ['kernel', 'layers', 'ours ms', '', 'tfjs ms', '', 'tfjs/ours', 'max abs err', 'note'];
  const body = rows.map((r) => [
    r.name, String(r.layers.length), ms(r.ours.median), pm(r.ours), ms(r.tfjsWebgpu.median), pm(r.tfjsWebgpu), ratio(r.speedup), err(r.maxAbsError), r.note ?? '',
  ]);
  return table(head, body, (i) => i >= 1 && i <= 7);
}

/** The ORT sides that any row has (in the order of ORT_SIDES). */
const ortSidesOf = (rows: EndToEndRow[]) => ORT_SIDES.filter((o) => rows.some((r) => r.wall[o]));
const ortMs = (r: EndToEndRow, o: (typeof ORT_SIDES)[number]) => (r.wall[o] ? r.wall[o]!.median / r.batch : null);
/** 1 - the lowest cosine of any side's descriptors to ours (0: the same directions). */
const minCos = (r: EndToEndRow) => {
  const v = Object.values(r.minCosine ?? {});
  return v.length ? err(Math.max(0, 1 - Math.min(...v))) : '-';
};

export function endToEndLines(rows: EndToEndRow[]): string[] {
  if (!rows.length) return [];
  const ort = ortSidesOf(rows);
  const head = [
    'batch', 'ours ms/img', '', 'tfjs-webgpu ms/img', '', 'tfjs-wasm ms/img', '',
    ...ort.flatMap((o) => [`${ORT_LABEL[o]} ms/img`, '']),
    'vs webgpu', 'vs wasm', ...ort.map((o) => `vs ${ORT_LABEL[o]}`), 'max abs err', ...(ort.length ? ['1 - min cos'] : []), 'GPU ms/img ours', 'GPU ms/img tfjs',
  ];
  const body = rows.map((r) => [
    String(r.batch), ms(r.oursMsPerImage), pm(r.wall.ours), ms(r.tfjsWebgpuMsPerImage), pm(r.wall.tfjsWebgpu), ms(r.tfjsWasmMsPerImage), pm(r.wall.tfjsWasm),
    ...ort.flatMap((o) => [ms(ortMs(r, o)), pm(r.wall[o])]),
    ratio(r.speedupVsWebgpu), ratio(r.speedupVsWasm), ...ort.map((o) => ratio(r.speedupVsOrt?.[o])), err(r.maxAbsError), ...(ort.length ? [minCos(r)] : []),
    ms(r.gpu ? r.gpu.ours.median / r.batch : null), ms(r.gpu?.tfjsWebgpu ? r.gpu.tfjsWebgpu.median / r.batch : null),
  ]);
  return table(head, body, () => true);
}

export function headerLines(r: BenchResult): string[] {
  const e = r.environment;
  return [
    `adapter: ${r.adapter.id} — ${r.adapter.driver}`,
    `facegpu ${e.facegpu} (${e.commit}), Node ${e.node}, webgpu (Dawn) ${e.webgpu}, tfjs ${e['tfjs-core']}; ${e.cpu} x${e.cores}`,
    `backbone ${r.settings.backbone}; hand-picked tuning ${JSON.stringify(r.settings.tuning)}`,
    kernelSourceLine(r),
  ];
}

function kernelSourceLine(r: BenchResult): string {
  const k = r.settings.kernelSource;
  return k?.source === 'tuned'
    ? `kernels: tuned by measuring on this adapter (batch sizes ${k.tunedBatches.join(',')}; ${k.file})`
    : 'kernels: hand-picked (no saved tuning for this adapter, driver and shaders; `facegpu tune` makes one)';
}

/** The kernel of each distinct layer shape: [shape, kernel at each batch size run]. */
function layerKernelCells(r: BenchResult): string[][] {
  const lk = r.settings.layerKernels ?? {};
  const batches = Object.keys(lk);
  if (!batches.length) return [];
  const seen = new Set<string>();
  const rows: string[][] = [];
  lk[batches[0]].forEach((l, i) => {
    if (seen.has(l.shape)) return;
    seen.add(l.shape);
    rows.push([l.shape, ...batches.map((b) => lk[b][i].kernel)]);
  });
  return rows;
}

export function layerKernelLines(r: BenchResult): string[] {
  const rows = layerKernelCells(r);
  return rows.length ? table(['layer shape', ...Object.keys(r.settings.layerKernels).map((b) => `batch ${b}`)], rows, () => false) : [];
}

function layerKernelRows(r: BenchResult): string[] {
  return layerKernelCells(r).map((c) => `| ${c[0]} | ${c.slice(1).map((k) => `\`${k}\``).join(' | ')} |`);
}

export function textReport(r: BenchResult): string {
  const s = r.settings;
  const out = [...headerLines(r), ''];
  if (r.kernels.length) {
    out.push(`Kernels at batch ${s.kernelBatch}: median of ${s.kernelRepeats} runs after ${s.warmup} warm-up, ${s.kernelTiming === 'gpu-timestamp' ? 'GPU timestamps (one compute pass per kernel call, both sides; tfjs via tf.time)' : 'wall time to onSubmittedWorkDone'}, ms per call`);
    out.push(...kernelLines(r.kernels), '');
  }
  if (r.endToEnd.length) {
    out.push(`Whole forward pass: median of ${s.repeats} runs after ${s.warmup} warm-up, ${s.endToEndTiming}; GPU ms/img = per-dispatch timestamps summed (median of ${s.gpuRepeats})`);
    out.push(...endToEndLines(r.endToEnd));
  }
  if (r.trainingWork.length) {
    out.push('', `${TRAINING_WORK_TITLE}: ${TRAINING_WORK_METHOD}`, ...trainingWorkLines(r.trainingWork));
  }
  const layers = layerKernelLines(r);
  if (layers.length) out.push('', `Our kernel per layer shape (${r.settings.kernelSource.source}):`, ...layers);
  return out.join('\n');
}

function markdown(r: BenchResult): string {
  const s = r.settings;
  const kernelTable = r.kernels.length
    ? [
        '| kernel | layers | ours ms | tfjs-webgpu ms | tfjs/ours | max abs err | our shader | note |',
        '|---|---:|---:|---:|---:|---:|---|---|',
        ...r.kernels.map((k) => `| ${k.name} | ${k.layers.length} | ${ms(k.ours.median)} ${pm(k.ours)} | ${ms(k.tfjsWebgpu.median)} ${pm(k.tfjsWebgpu)} | ${ratio(k.speedup)} | ${err(k.maxAbsError)} | \`${k.shader}\` | ${k.note ?? ''} |`),
      ].join('\n')
    : '';
  const ort = ortSidesOf(r.endToEnd);
  const cells = (c: string[]) => `| ${c.join(' | ')} |`;
  const e2eTable = r.endToEnd.length
    ? [
        cells([
          'batch', 'ours ms/img', 'tfjs-webgpu ms/img', 'tfjs-wasm ms/img', ...ort.map((o) => `${ORT_LABEL[o]} ms/img`),
          'tfjs-webgpu/ours', 'tfjs-wasm/ours', ...ort.map((o) => `${ORT_LABEL[o]}/ours`), 'max abs err', ...(ort.length ? ['1 - min cosine'] : []), 'GPU ms/img ours', 'GPU ms/img tfjs-webgpu',
        ]),
        `|${'---:|'.repeat(9 + 2 * ort.length + (ort.length ? 1 : 0))}`,
        ...r.endToEnd.map((e) =>
          cells([
            String(e.batch), `${ms(e.oursMsPerImage)} ${pm(e.wall.ours)}`, `${ms(e.tfjsWebgpuMsPerImage)} ${pm(e.wall.tfjsWebgpu)}`, `${ms(e.tfjsWasmMsPerImage)} ${pm(e.wall.tfjsWasm)}`,
            ...ort.map((o) => `${ms(ortMs(e, o))} ${pm(e.wall[o])}`),
            ratio(e.speedupVsWebgpu), ratio(e.speedupVsWasm), ...ort.map((o) => ratio(e.speedupVsOrt?.[o])), err(e.maxAbsError), ...(ort.length ? [minCos(e)] : []),
            ms(e.gpu ? e.gpu.ours.median / e.batch : null), ms(e.gpu?.tfjsWebgpu ? e.gpu.tfjsWebgpu.median / e.batch : null),
          ]),
        ),
      ].join('\n')
    : '';
  return [
    `# facegpu benchmark — ${r.adapter.id}`,
    '',
    ...headerLines(r).map((l) => `- ${l}`),
    `- date: ${r.environment.date}`,
    '',
    r.endToEnd.length ? `## Whole forward pass\n\nMedian of ${s.repeats} runs after ${s.warmup} warm-up; ${s.endToEndTiming}. GPU ms/img: per-dispatch timestamps summed (median of ${s.gpuRepeats}).\n\n${e2eTable}\n\n![chart](chart.svg)\n` : '',
    r.trainingWork.length ? `## ${TRAINING_WORK_TITLE}\n\n${TRAINING_WORK_METHOD}\n\n${trainingWorkLines(r.trainingWork).join('\n')}\n` : '',
    Object.keys(s.layerKernels ?? {}).length ? `## Our kernel per layer shape (${s.kernelSource.source})\n\n${kernelSourceLine(r)}\n\n| layer shape | ${Object.keys(s.layerKernels).map((b) => `batch ${b}`).join(' | ')} |\n|---|${Object.keys(s.layerKernels).map(() => '---|').join('')}\n${layerKernelRows(r).join('\n')}\n` : '',
    r.kernels.length ? `## Kernels (batch ${s.kernelBatch})\n\nMedian of ${s.kernelRepeats} runs after ${s.warmup} warm-up; ${s.kernelTiming === 'gpu-timestamp' ? 'GPU timestamps, one compute pass per kernel call on both sides (tfjs: tf.time)' : 'wall time to onSubmittedWorkDone'}; ms per call; ± is half the interquartile range.\n\n${kernelTable}\n` : '',
  ].join('\n');
}

const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Two panels: ms per image by batch and side; per-kernel tfjs/ours time ratio. */
function svg(r: BenchResult): string {
  const W = 900;
  const parts: string[] = [];
  const text = (x: number, y: number, t: string, attrs = '') => parts.push(`<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(t)}</text>`);
  const rect = (x: number, y: number, w: number, h: number, fill: string) => parts.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(w, 0).toFixed(1)}" height="${Math.max(h, 0).toFixed(1)}" fill="${fill}"/>`);
  const colors = { ours: '#2b7bb9', webgpu: '#e08a1e', wasm: '#7a7a7a', ortWebgpu: '#8e44ad', ortWasm: '#16a085', ortNode: '#2c3e50' };
  let y = 28;
  text(20, y, `facegpu vs TensorFlow.js — ${r.adapter.id} (${r.adapter.driver})`, 'font-size="16" font-weight="bold"');
  y += 18;
  text(20, y, `${r.environment.date} · Node ${r.environment.node} · Dawn ${r.environment.webgpu} · tfjs ${r.environment['tfjs-core']} · ${r.settings.backbone}`, 'font-size="11" fill="#555"');
  y += 30;
  if (r.endToEnd.length) {
    text(20, y, `Whole forward pass, ms per image (lower is better), ${r.settings.endToEndTiming}`, 'font-size="13" font-weight="bold"');
    y += 12;
    const maxV = Math.max(...r.endToEnd.flatMap((e) => [e.oursMsPerImage, e.tfjsWebgpuMsPerImage ?? 0, e.tfjsWasmMsPerImage ?? 0, ...ORT_SIDES.map((o) => ortMs(e, o) ?? 0)]));
    const left = 170;
    const scale = (W - left - 90) / maxV;
    for (const e of r.endToEnd) {
      y += 8;
      text(20, y + 26, `batch ${e.batch}`, 'font-size="12"');
      const bars: [string, number | null, string][] = [
        ['ours', e.oursMsPerImage, colors.ours], ['tfjs-webgpu', e.tfjsWebgpuMsPerImage, colors.webgpu], ['tfjs-wasm', e.tfjsWasmMsPerImage, colors.wasm],
        ...ORT_SIDES.map((o): [string, number | null, string] => [ORT_LABEL[o], ortMs(e, o), colors[o]]),
      ];
      for (const [name, v, color] of bars) {
        if (v == null) continue;
        text(left - 8, y + 12, name, 'font-size="11" text-anchor="end"');
        rect(left, y + 2, v * scale, 13, color);
        text(left + v * scale + 5, y + 13, `${ms(v)} ms`, 'font-size="11"');
        y += 17;
      }
      y += 6;
    }
    y += 24;
  }
  if (r.kernels.length) {
    text(20, y, `Kernels at batch ${r.settings.kernelBatch}: tfjs-webgpu time / our time, log scale (right of 1x: ours faster)`, 'font-size="13" font-weight="bold"');
    y += 14;
    const left = 250;
    const lo = 0.25;
    const hi = Math.max(4, ...r.kernels.map((k) => k.speedup));
    const at = (v: number) => left + ((Math.log(Math.min(Math.max(v, lo), hi)) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * (W - left - 70);
    const top = y;
    for (const k of r.kernels) {
      text(left - 8, y + 12, k.name, 'font-size="11" text-anchor="end"');
      const x0 = at(1);
      const x1 = at(k.speedup);
      rect(Math.min(x0, x1), y + 2, Math.abs(x1 - x0), 12, k.speedup >= 1 ? colors.ours : '#c0392b');
      text(Math.max(x0, x1) + 5, y + 12, ratio(k.speedup), 'font-size="11"');
      y += 16;
    }
    for (const tick of [0.5, 1, 2, 5, 10, 20, 50, 100].filter((v) => v >= lo && v <= hi)) {
      parts.push(`<line x1="${at(tick).toFixed(1)}" y1="${top}" x2="${at(tick).toFixed(1)}" y2="${y}" stroke="${tick === 1 ? '#000' : '#ccc'}" stroke-dasharray="3,3"/>`);
      text(at(tick), y + 12, `${tick}x`, 'font-size="10" text-anchor="middle" fill="#555"');
    }
    y += 22;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y + 10}" viewBox="0 0 ${W} ${y + 10}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n${parts.join('\n')}\n</svg>\n`;
}

/** Write results.json, results.md and chart.svg into `dir` (each atomically). */
export async function writeResults(r: BenchResult, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files = [join(dir, 'results.json'), join(dir, 'results.md'), join(dir, 'chart.svg')];
  await writeFileAtomic(files[0], JSON.stringify(r, null, 2) + '\n');
  await writeFileAtomic(files[1], markdown(r));
  await writeFileAtomic(files[2], svg(r));
  return files;
}
