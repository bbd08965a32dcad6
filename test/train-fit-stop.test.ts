// The head's training loop stopped by the caller (train's Ctrl-C) and the order of its
// callbacks (tfjs' CPU backend, no GPU): an improving epoch's checkpoint is taken before the
// epoch is told, and an aborted signal ends the loop after the epoch under way.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { fitHead, type FitConfig } from '../src/train/fit.ts';
import { buildHead } from '../src/train/head.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const config: FitConfig = { epochs: 50, batchSize: 4, learningRate: 0.001, seed: 1, patience: 50 };
/** Two classes of 8-d points apart from each other: the loss falls epoch after epoch. */
const points = () => ({
  x: tf.tensor2d(Array.from({ length: 16 }, (_, i) => Array.from({ length: 8 }, (_, j) => (i % 2 ? 1 : -1) + Math.sin(i * 8 + j) * 0.3))),
  labels: tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 2), 'int32'),
});

describe('fitHead: checkpoint before the epoch is told, stopped by a signal', () => {
  it('an improving epoch: onBest (with the history up to it) before onEpoch; aborted, the loop ends after that epoch', async () => {
    const head = buildHead(8, 2, 1);
    const train = points();
    const events: string[] = [];
    const controller = new AbortController();
    const fit = await fitHead(head, 2, train, null, config, {
      onBest: (log, history) => {
        events.push(`best ${log.epoch}`);
        expect(history.at(-1)).toBe(log);
      },
      onEpoch: (log) => {
        events.push(`epoch ${log.epoch}`);
        if (log.epoch === 3) controller.abort();
      },
      signal: controller.signal,
    });
    expect(fit.interrupted).toBe(true);
    expect(fit.stoppedEarly).toBe(false);
    expect(fit.history.map((l) => l.epoch)).toEqual([1, 2, 3]);
    for (const log of fit.history) {
      const told = events.indexOf(`epoch ${log.epoch}`);
      expect(told).toBeGreaterThanOrEqual(0);
      if (log.improved) expect(events.indexOf(`best ${log.epoch}`)).toBe(told - 1);
    }
    tf.dispose([train.x, train.labels]);
    head.dispose();
  });

  it('aborted before it starts: one epoch runs (a model to keep), then it stops', async () => {
    const head = buildHead(8, 2, 1);
    const train = points();
    const fit = await fitHead(head, 2, train, null, config, { signal: AbortSignal.abort() });
    expect(fit.history).toHaveLength(1);
    expect(fit.interrupted).toBe(true);
    // Not aborted: every epoch, not interrupted.
    const full = await fitHead(head, 2, train, null, { ...config, epochs: 2 }, { signal: new AbortController().signal });
    expect([full.history.length, full.interrupted]).toEqual([2, false]);
    tf.dispose([train.x, train.labels]);
    head.dispose();
  });
});
