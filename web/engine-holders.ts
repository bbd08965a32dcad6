// Which face engines the page may free. A tuning replaces the page's engine (main.ts
// useEngine), but what started on the old one keeps running on it: a model trained or loaded,
// the Identify tab's describer, a training or benchmark in flight. Each registers a holder that
// names the engine it runs on (or null); a replaced engine is destroyed once no holder names it.

interface Destroyable {
  destroy(): void;
}

export class EngineHolders<E extends Destroyable> {
  private readonly replaced = new Set<E>();
  private readonly holders: (() => E | null | undefined)[] = [];

  /** `current()` is the engine the page runs now; it is never destroyed here. */
  constructor(private readonly current: () => E | null) {}

  /** `holder()` names an engine in use; that engine is not destroyed while named. */
  hold(holder: () => E | null | undefined): void {
    this.holders.push(holder);
  }

  /** `old` was replaced by the page's current engine: free it as soon as nothing holds it. */
  replace(old: E): void {
    if (old !== this.current()) this.replaced.add(old);
    this.release();
  }

  /** Destroy every replaced engine that no holder names any more (call when a holder lets go). */
  release(): void {
    const held = new Set(this.holders.map((h) => h()));
    for (const e of this.replaced) {
      if (e === this.current() || held.has(e)) continue;
      this.replaced.delete(e);
      e.destroy();
    }
  }

  /** Replaced engines still held (not destroyed yet). */
  get waiting(): number {
    return this.replaced.size;
  }
}
