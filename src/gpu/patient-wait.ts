// Waiting for submitted GPU work without keeping a CPU core busy.
//
// While any of its promises (onSubmittedWorkDone, mapAsync) is pending, Dawn's Node binding
// polls the device from the event loop without pause. On a CPU adapter the devices facegpu makes
// await their promises in slices instead (dawn-wait.ts), which still blocks the thread a slice at
// a time. So a wait first sleeps on a timer through most of the time the same work took before
// (learned per key, e.g. per batch size), leaving the event loop free, and only then creates the
// promise. In a browser the promise costs nothing while pending and the sleep is merely harmless.

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A promise that resolves within this many ms of being created found the work already done:
 * the sleep before it was too long.
 */
const PROMPT_MS = 1;

export class PatientWait {
  /** Per key: the duration to expect, how many waits it has seen, and whether the last one slept too long. */
  private expected = new Map<string, { ms: number; seen: number; overslept: boolean }>();

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
    let slept = false;
    // The first wait of a key often includes one-time work (the driver compiling pipelines on
    // first use), so sleeping starts from the third.
    if (expect && expect.seen >= 2) {
      const left = since + expect.ms * this.fraction - performance.now();
      if (left >= this.minSleepMs) {
        await sleep(left);
        slept = true;
      }
    }
    const asked = performance.now();
    const result = await ready();
    const done = performance.now();
    const took = done - since;
    // Done before it was asked for: the sleep was too long, and how long the work took is not
    // known (at most `took`). Halve the expectation, so that the next wait wakes early and
    // measures it; the wait after an oversleep takes that measurement as it is.
    const overslept = slept && done - asked < PROMPT_MS;
    let ms: number;
    if (!expect) ms = took;
    else if (overslept) ms = took / 2;
    else if (expect.overslept) ms = took;
    // Follow a speed-up at once and a slowdown slowly: a sleep longer than the work adds to the
    // wait, a short one only means some polling at the end. One slow run (a busy machine, or
    // work that sat unwaited-for) moves the estimate by a tenth, at most doubling it.
    else ms = Math.min(took, 2 * expect.ms, 0.9 * expect.ms + 0.1 * took);
    this.expected.set(key, { ms, seen: (expect?.seen ?? 0) + 1, overslept });
    return result;
  }
}
