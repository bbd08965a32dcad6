// facegpu worker --queue <redis-url>: describe the faces of photo batches that `index --queue` puts on the queue.
import type { Command } from 'commander';
import { parseQueueUrl } from '../library/queue-node.ts';
import { runIndexWorker } from '../library/worker-node.ts';
import { numberOption } from './number-options.ts';
import { cliMessage } from './remedies.ts';
import { onStopSignals } from './stop-signals.ts';

interface WorkerCliOptions {
  queue: string;
  stalledSeconds: string;
  adapter?: string;
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('take photo batches from an index queue and find and describe their faces on this machine\'s GPU, until stopped (Ctrl-C / SIGTERM)')
    .requiredOption('--queue <redis-url>', 'the Redis that `facegpu index --queue` uses (redis://host:port)')
    .option('--stalled-seconds <s>', 'a batch whose worker stops answering this long goes to another worker', '30')
    .action((opts: WorkerCliOptions) => workerCommand({ ...opts, adapter: program.opts().adapter }));
}

export async function workerCommand(opts: WorkerCliOptions): Promise<void> {
  parseQueueUrl(opts.queue, '--queue');
  const stalled = numberOption('--stalled-seconds', opts.stalledSeconds);
  if (!(stalled >= 1)) throw new Error(`--stalled-seconds must be at least 1, got ${stalled}`);
  const worker = await runIndexWorker(opts.queue, {
    adapter: opts.adapter,
    stalledMs: stalled * 1000,
    onStart: (j) => console.error(`facegpu worker ${j.worker}: batch ${j.id}: ${j.photos} photos taken`),
    onJob: (j) => console.error(`facegpu worker ${j.worker}: batch ${j.id}: ${j.photos} photos in ${(j.ms / 1000).toFixed(1)} s (${j.gallery})`),
    onError: (m, err) => console.error(`facegpu worker: ${cliMessage(err ?? m)}`),
  });
  console.error(`facegpu worker: waiting for batches on ${opts.queue}`);
  const stop = () => {
    console.error(worker.busy ? 'facegpu worker: stopping after the batch in hand (Ctrl-C again to stop now; the batch then goes to another worker)' : 'facegpu worker: stopping');
    void worker.close();
  };
  const signals = onStopSignals(stop);
  try {
    await worker.closed;
  } finally {
    signals.dispose();
  }
}
