// Which face engines the page may free. A tuning replaces the page's engine (main.ts
// useEngine), but what started on the old one keeps running on it: a model trained or loaded,
// the Identify tab's describer (holders, asked which engine they run on), a training, a model
// being adopted or a benchmark in flight (busy until they settle). A replaced engine is
// destroyed as soon as nothing holds it and nothing is busy on it.

interface Destroyable {
  destroy(): void;
}

export class EngineHolders<E extends Destroyable> {
  private readonly replaced = new Set<E>();
  private readonly holders: (() => E | null | undefined)[] = [];
  /** Work in flight per engine (a count: two runs may share one). */
  private readonly inFlight = new Map<E, number>();

  /** `current()` is the engine the page runs now; it is never destroyed here. */
  constructor(private readonly current: () => E | null) {}

  /** `holder()` names an engine in use for as long as it says so; that engine is not destroyed while named. */
  hold(holder: () => E | null | undefined): void {
    this.holders.push(holder);
  }

  /** Work starts on `engine`: it is not destroyed until the returned function is called (once is enough). */
  busy(engine: E): () => void {
    this.inFlight.set(engine, (this.inFlight.get(engine) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = this.inFlight.get(engine)! - 1;
      if (left) this.inFlight.set(engine, left);
      else this.inFlight.delete(engine);
      this.release();
    };
  }

  /** `old` was replaced by the page's current engine: free it as soon as nothing holds it. */
  replace(old: E): void {
    if (old !== this.current()) this.replaced.add(old);
    this.release();
  }

  /** Destroy every replaced engine that nothing holds any more (call when a holder lets go). */
  release(): void {
    const held = new Set(this.holders.map((h) => h()));
    for (const e of this.replaced) {
      if (e === this.current() || held.has(e) || this.inFlight.has(e)) continue;
      this.replaced.delete(e);
      e.destroy();
    }
  }

  /** Replaced engines still held (not destroyed yet). */
  get waiting(): number {
    return this.replaced.size;
  }
}
