// libvips keeps one error buffer for the whole process, and sharp reads it after a failure and
// clears it: when decodes of a batch (Promise.all) fail at the same time, a file's message may
// be another's, both, or gone ("Unknown error"). Failures are rare, so a failed sharp call is
// made again alone, for its own message: calls go on together until one is to be made again;
// that one then waits for those running to end, new ones wait for it, and the ones to be made
// again run one at a time, in order.

/**
 * `run` (a sharp call) among others; when it fails with an error `retry` accepts, `run` again
 * alone, whose outcome is this file's own (its message, or even its pixels).
 */
export async function ownFailure<T>(run: () => Promise<T>, retry: (err: unknown) => boolean = () => true): Promise<T> {
  try {
    return await withOthers(run);
  } catch (err) {
    if (!retry(err)) throw err;
    return alone(run);
  }
}

/** Calls running together now. */
let running = 0;
/** Called when `running` falls to 0 (a call made again waits for it). */
let drained: (() => void)[] = [];
/** The end of the queue of calls made again alone (never rejects). */
let loneTail: Promise<void> = Promise.resolve();
/** While calls to be made again are queued or running: their end (new calls wait for it). */
let loneBusy: Promise<void> | null = null;

async function withOthers<T>(call: () => Promise<T>): Promise<T> {
  while (loneBusy) await loneBusy;
  running++;
  try {
    return await call();
  } finally {
    if (--running === 0) for (const go of drained.splice(0)) go();
  }
}

function alone<T>(call: () => Promise<T>): Promise<T> {
  const result = loneTail.then(async () => {
    if (running > 0) await new Promise<void>((go) => drained.push(go));
    return call();
  });
  const tail = result.then(
    () => {},
    () => {},
  );
  loneTail = loneBusy = tail;
  void tail.then(() => {
    if (loneBusy === tail) loneBusy = null;
  });
  return result;
}
