// facegpu index <photos-root> --gallery <dir>: every face of every photo of a folder tree into
// the gallery's photo library, incrementally; with --queue, through workers; with --watch,
// again whenever the tree changes, until stopped.
import type { Command } from 'commander';
import { checkOutputDir } from '../out-dir.ts';
import { progressBar } from './progress.ts';
import { indexLibrary, INDEX_BATCH, type IndexOptions, type IndexSummary } from '../library/index-run-node.ts';
import { watchLibrary, type LibraryWatch } from '../library/watch-node.ts';
import { parseQueueUrl } from '../library/queue-node.ts';
import { countOption, minFaceOption } from './number-options.ts';
import { cliMessage } from './remedies.ts';
import { onStopSignals, signalExitCode } from './stop-signals.ts';
import { counted } from './wording.ts';
import { groupBy } from '../group-by.ts';

interface IndexCliOptions {
  gallery: string;
  queue?: string;
  backbone?: string;
  batchSize: string;
  json?: boolean;
  progress?: boolean;
  minFace?: string;
  watch?: boolean;
  allowEmpty?: boolean;
  adapter?: string;
}

export function registerIndex(program: Command): void {
  program
    .command('index')
    .description('find every face of every photo under a folder and store it in a gallery\'s photo library (only new and changed photos are processed)')
    .argument('<photos-root>', 'folder of photos (searched recursively)')
    .requiredOption('--gallery <dir>', 'gallery folder (made if missing)')
    .option('--queue <redis-url>', 'spread the work over `facegpu worker` processes through this Redis (redis://host:port)')
    .option('--backbone <name|dir>', 'backbone of a new gallery (default: face; an existing gallery uses its own)')
    .option('--batch-size <n>', 'photos per batch (one transaction, one queue job)', String(INDEX_BATCH))
    .option('--min-face <pixels>', 'also find faces down to this many pixels wide in big photos (group photos), through detector tiles: slower; kept for later runs, photos indexed with another value searched again; 0: the whole photo only (default: the library\'s, else 0)')
    .option('--watch', 'then keep watching the folder: index again whenever photos are added, changed, moved or deleted, until Ctrl-C (a run\'s summary each time)')
    .option('--allow-empty', 'let a folder with no photo under it remove the library\'s photos there (refused otherwise, nothing removed: an empty folder is more often a drive not mounted)')
    .option('--no-progress', 'no progress bar on stderr')
    .option('--json', 'print {"photos", "faces", "new", "changed", "removed", "skipped", "failed", "copied", "embedded", "left"?: photos not done (stopped by Ctrl-C, which keeps what was stored; exit status 130), "seconds"} as JSON (with --watch, a line each run)')
    .action((root: string, opts: IndexCliOptions) => indexCommand(root, { ...opts, adapter: program.opts().adapter }));
}

export async function indexCommand(root: string, opts: IndexCliOptions): Promise<void> {
  const batchSize = countOption('--batch-size', opts.batchSize);
  const minFace = opts.minFace === undefined ? undefined : minFaceOption(opts.minFace);
  if (opts.queue !== undefined) parseQueueUrl(opts.queue, '--queue');
  // The gallery is written whole and renamed in: a place that cannot take it is told now.
  await checkOutputDir(opts.gallery, { name: '--gallery', readFrom: [{ path: root, what: 'photo folder', insideOk: true }] });
  const bar = progressBar(' indexing |{bar}| {value}/{total} photos  {rate} photos/s  {eta_formatted} left', opts.progress, { etaBuffer: 50 });
  let t0 = performance.now();
  let barOn = false;
  const say = (m: string) => {
    if (barOn) process.stderr.write('\n');
    console.error(`facegpu: ${m}`);
  };
  const barOff = () => {
    if (barOn) bar?.stop();
    barOn = false;
  };
  const options: IndexOptions = {
    queue: opts.queue,
    backbone: opts.backbone,
    adapter: opts.adapter,
    batchSize,
    minFace,
    allowEmpty: opts.allowEmpty,
    onWarning: (m) => say(`warning: ${m}`),
    onNotice: say,
    onNoWorker: (url) => say(`no worker is taking jobs from ${url}: start one with \`facegpu worker --queue ${url}\``),
    onPlan: (work) => {
      t0 = performance.now();
      if (bar && work > 0) {
        bar.start(work, 0, { rate: '0.0' });
        barOn = true;
      }
    },
    onProgress: (done) => {
      if (barOn) bar?.update(done, { rate: (done / ((performance.now() - t0) / 1000)).toFixed(1) });
    },
  };
  let runs = 0;
  const report = (summary: IndexSummary) => {
    barOff();
    // Watching, a run that found nothing to do (a change undone, or told twice) says nothing.
    const idle = !summary.new && !summary.changed && !summary.removed && summary.failed.every((f) => f.again);
    if (runs++ === 0 || !idle) printSummary(root, opts, summary);
  };
  if (!opts.watch) {
    // A first Ctrl-C stops after the batch under way (through a queue: at once, its waiting
    // batches taken off it), keeping what was stored; a second stops at once.
    const stop = new AbortController();
    const signals = onStopSignals(() => {
      stop.abort();
      say('stopping after the batch under way (Ctrl-C again to stop at once; what is stored is kept)');
    });
    let summary: IndexSummary;
    try {
      summary = await indexLibrary(root, opts.gallery, { ...options, signal: stop.signal });
    } finally {
      signals.dispose();
      barOff();
    }
    report(summary);
    if (signals.received) {
      say(`stopped: ${counted(summary.left, 'photo')} not indexed; index again to do them`);
      process.exitCode = signalExitCode(signals.received);
    }
    return;
  }
  let watching: LibraryWatch;
  try {
    watching = await watchLibrary(root, opts.gallery, {
      ...options,
      onRun: report,
      onRunError: (err) => {
        barOff();
        say(`error: ${cliMessage(err)} (still watching; the next change runs again)`);
      },
    });
  } finally {
    barOff();
  }
  say(`watching ${root} for changes (Ctrl-C to stop)`);
  await untilStopped(watching, say);
}

/**
 * Wait for Ctrl-C (or SIGTERM), then stop watching: after the run under way, or at once on a
 * second one (onStopSignals); or until the watch ends by itself (its folder gone: an error,
 * exit status 1).
 */
async function untilStopped(watching: LibraryWatch, say: (m: string) => void): Promise<void> {
  let stop!: () => void;
  const asked = new Promise<void>((settle) => (stop = settle));
  const signals = onStopSignals(() => stop());
  try {
    const ended = await Promise.race([asked.then(() => null), watching.ended]);
    if (ended) throw ended;
    if (watching.running) say('stopping after the run under way (Ctrl-C again to stop now; what it stored is kept)');
    await watching.close();
  } finally {
    signals.dispose();
  }
}

/** A run's summary: failures on stderr, the counts on stdout (JSON: one line); exit status 2 where photos failed. */
function printSummary(root: string, opts: IndexCliOptions, summary: IndexSummary): void {
  // A worker's RemedyError comes back whole: its remedy in the CLI's words, as locally. Many
  // photos failing for one reason (a batch failed for good) are one line, not one a photo.
  const fresh = summary.failed.filter((f) => !f.again).map((f) => ({ file: f.file, message: cliMessage(f.remedy ?? f.error) }));
  for (const [reason, group] of groupBy(fresh, (f) => (f.message.startsWith(`${f.file}: `) ? f.message.slice(f.file.length + 2) : f.message))) {
    if (group.length <= 3) for (const f of group) console.error(`facegpu: warning: ${f.message}`);
    else console.error(`facegpu: warning: ${counted(group.length, 'photo')} (${group.slice(0, 3).map((f) => f.file).join(', ')}, and ${group.length - 3} more): ${reason}`);
  }
  // Failures of earlier runs, unchanged since: one line, not one a photo on every run (a
  // library of unsupported files would repeat them all each time).
  const again = summary.failed.filter((f) => f.again);
  if (again.length) {
    const shown = again.slice(0, 3).map((f) => f.error);
    console.error(`facegpu: warning: ${counted(again.length, 'photo')} that failed on an earlier run ${again.length === 1 ? 'is' : 'are'} unchanged and not read again: ${shown.join('; ')}${again.length > 3 ? `; and ${again.length - 3} more` : ''}`);
  }
  const { photos, faces, new: added, changed, removed, skipped, failed, seconds } = summary;
  if (opts.json) {
    process.stdout.write(JSON.stringify({ photos, faces, new: added, changed, removed, skipped, failed: failed.length, copied: summary.copied, embedded: summary.embedded, ...(summary.left && { left: summary.left }), seconds: Math.round(seconds * 100) / 100 }) + '\n');
  } else {
    console.log(
      `${opts.gallery}: ${counted(photos, 'photo')} under ${root}: ${added} new${summary.copied ? ` (${summary.copied} already known by content)` : ''}, ${changed} changed, ${removed} removed, ${skipped} unchanged, ${failed.length} failed; ` +
        `${counted(faces, 'face')} in the library (${seconds.toFixed(1)} s${summary.embedded ? `, ${(summary.embedded / seconds).toFixed(1)} photos/s` : ''})`,
    );
  }
  process.exitCode = failed.length ? 2 : 0;
}
