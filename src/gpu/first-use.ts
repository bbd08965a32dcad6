// Saying what a long first run is doing. Some drivers compile a pipeline at its first dispatch
// rather than when it is created: Mesa's lavapipe (the CPU as a Vulkan device) turns each
// kernel into machine code with LLVM then, about a second per kernel on a 2-core machine, 41 s
// for the kernels of a first face photo, and keeps the code in its own disk cache
// (~/.cache/mesa_shader_cache), so later runs start at once; SwiftShader compiles at creation
// and keeps nothing between processes, so the notice promises no cache. Nothing in WebGPU
// says whether a pipeline is compiled yet, so the warm-ups (MobileNetEngine.warmUp,
// FaceDescriber.warmUp) run every kernel once, and this tells the user about the wait only
// when the wait is long.

/** How long a warm-up may take before it is said (a compiled one takes a few to 100 ms). */
export const SLOW_FIRST_USE_MS = 1500;

/**
 * Await `work` (a warm-up of `what`, e.g. "the backbone's kernels"). If it is still running
 * after `afterMs`, tell `notice` once that `what` is being compiled for `adapter` (its short
 * id, `gpu.adapter.id`), and when it ends how long it took. A warm-up that fails is passed on
 * as it failed.
 *
 * The clock is a timer, so it only runs while the warm-up leaves the JavaScript thread free. A
 * synchronous pipeline creation holds it, and on lavapipe one waits until the driver has
 * compiled the dispatches before it (seconds each), so the warm-ups create every pipeline
 * before their first dispatch (the face detector's in tfjs' compile-only mode,
 * BlazeFaceDetector.warmUp). Where a driver compiles inside a synchronous creation
 * (SwiftShader) the first line comes late, when the thread is free again.
 */
export async function noticeIfSlow<T>(work: () => Promise<T>, what: string, adapter: string, notice: (line: string) => void, afterMs = SLOW_FIRST_USE_MS): Promise<T> {
  const t0 = performance.now();
  let told = false;
  const tell = () => {
    told = true;
    notice(`compiling ${what} for ${adapter}: the driver compiles them on first use`);
  };
  const timer = setTimeout(tell, afterMs);
  try {
    const out = await work();
    if (told) notice(`${what} compiled in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return out;
  } finally {
    clearTimeout(timer);
  }
}
