// The first-use notice: said only when a warm-up is slow, once, with its time; a failure passes through.
import { describe, expect, it } from 'vitest';
import { noticeIfSlow } from '../src/gpu/first-use.ts';

const after = (ms: number, value = 'done') => new Promise<string>((r) => setTimeout(() => r(value), ms));

describe('noticeIfSlow', () => {
  it('a warm-up that outlasts the threshold is said when the threshold passes, and again with its time when it ends', async () => {
    const lines: { at: number; line: string }[] = [];
    const t0 = performance.now();
    const out = await noticeIfSlow(() => after(120), "the backbone's kernels", 'llvmpipe', (line) => lines.push({ at: performance.now() - t0, line }), 30);
    expect(out).toBe('done');
    expect(lines.map((l) => l.line)).toEqual([
      "compiling the backbone's kernels for llvmpipe: the driver compiles them on first use",
      expect.stringMatching(/^the backbone's kernels compiled in 0\.1 s$/),
    ]);
    // The first line came while the work was still running, not after it.
    expect(lines[0].at).toBeLessThan(110);
  });

  it('a quick warm-up says nothing, and leaves no timer behind', async () => {
    const lines: string[] = [];
    await noticeIfSlow(() => after(5), 'x', 'y', (l) => lines.push(l), 60);
    await after(100);
    expect(lines).toEqual([]);
  });

  it('a failed warm-up rejects with its own error, after the first line if it was slow', async () => {
    const lines: string[] = [];
    const failing = after(80).then(() => {
      throw new Error('pipeline broke');
    });
    await expect(noticeIfSlow(() => failing, 'x', 'y', (l) => lines.push(l), 20)).rejects.toThrow('pipeline broke');
    expect(lines).toHaveLength(1);
  });
});
