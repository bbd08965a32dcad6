// Waiting for submitted GPU work without keeping a CPU core busy.
//
// While any of its promises (onSubmittedWorkDone, mapAsync) is pending, Dawn's Node binding
// polls the device from the event loop without pause (setImmediate after setImmediate). On a
// CPU adapter (lavapipe, SwiftShader) that polling thread competes with the driver's worker
// threads for the very cores the work runs on: on 2 cores it took a third of the CPU time of
// a forward pass. So a wait first sleeps through most of the time the same work took before
// (learned per key, e.g. per batch size), and only then creates the promise. In a browser the
// promise costs nothing while pending and the sleep is merely harmless.

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class PatientWait {
  /** Per key: the duration to expect, and how many waits it has seen. */
  private expected = new Map<string, { ms: number; seen: number }>();

  /**
   * @param fraction share of the expected duration slept before polling: the expectation
   *   tracks the fastest recent runs, so work rarely finishes before this much of it
   * @param minSleepMs below this a sleep is not worth a timer
   */
  constructor(
    private readonly fraction = 0.85,
    private readonly minSleepMs = 2,
  ) {}

  /**
   * Resolve `ready()` (which creates the GPU promise) for work submitted at `since`
   * (performance.now()), sleeping first through `fraction` of what work under `key` took last.
   */
  async until<T>(key: string, since: number, ready: () => Promise<T>): Promise<T> {
    const expect = this.expected.get(key);
    // The first wait of a key often includes one-time work (the driver compiling pipelines on
    // first use), so sleeping starts from the third.
    if (expect && expect.seen >= 2) {
      const left = since + expect.ms * this.fraction - performance.now();
      if (left >= this.minSleepMs) await sleep(left);
    }
    const result = await ready();
    const took = performance.now() - since;
    // Follow a speed-up at once and a slowdown slowly: a sleep longer than the work is the
    // costly error (it adds to the wait), a short one only means some polling at the end. One
    // slow run (a busy machine, or work that sat unwaited-for) moves the estimate by a tenth.
    // At most doubling, so that one stale measurement costs one slightly late wake-up.
    const ms = expect ? Math.min(took, 2 * expect.ms, 0.9 * expect.ms + 0.1 * took) : took;
    this.expected.set(key, { ms, seen: (expect?.seen ?? 0) + 1 });
    return result;
  }
}
