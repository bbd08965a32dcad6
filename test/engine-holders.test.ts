// The page frees an engine a tuning replaced only when nothing runs on it (web/engine-holders.ts).
import { describe, expect, it } from 'vitest';
import { EngineHolders } from '../web/engine-holders.ts';

class FakeEngine {
  destroyed = 0;
  constructor(readonly name: string) {}
  destroy(): void {
    this.destroyed++;
  }
}

function page() {
  const state = { current: new FakeEngine('first') as FakeEngine | null };
  const engines = new EngineHolders<FakeEngine>(() => state.current);
  const use = (next: FakeEngine) => {
    const old = state.current!;
    state.current = next;
    engines.replace(old);
  };
  return { state, engines, use };
}

describe('EngineHolders', () => {
  it('destroys a replaced engine at once when nothing holds it, exactly once', () => {
    const { state, engines, use } = page();
    const first = state.current!;
    use(new FakeEngine('tuned'));
    expect(first.destroyed).toBe(1);
    expect(engines.waiting).toBe(0);
    engines.release();
    expect(first.destroyed).toBe(1);
    expect(state.current!.destroyed).toBe(0);
  });

  it('keeps a held engine until its holder lets go, and never destroys the current one', () => {
    const { state, engines, use } = page();
    const first = state.current!;
    let describerOn: FakeEngine | null = first; // the Identify tab, opened before the tuning
    let modelOn: FakeEngine | null = first; // a model trained before the tuning
    engines.hold(() => describerOn);
    engines.hold(() => modelOn);
    const tuned = new FakeEngine('tuned');
    use(tuned);
    expect(first.destroyed).toBe(0);
    expect(engines.waiting).toBe(1);
    modelOn = tuned; // a new model, trained on the tuned engine
    engines.release();
    expect(first.destroyed).toBe(0); // the describer still runs on it
    describerOn = null;
    engines.release();
    expect(first.destroyed).toBe(1);
    expect(tuned.destroyed).toBe(0);
    expect(engines.waiting).toBe(0);
  });

  it('a second tuning frees the first tuned engine, not the one still held', () => {
    const { state, engines, use } = page();
    const first = state.current!;
    engines.hold(() => first); // held for the whole visit
    const a = new FakeEngine('a');
    const b = new FakeEngine('b');
    use(a);
    use(b);
    expect(a.destroyed).toBe(1);
    expect(first.destroyed).toBe(0);
    expect(b.destroyed).toBe(0);
    // Switching back to an engine that was replaced keeps it (it is current again).
    use(first);
    expect(first.destroyed).toBe(0);
    expect(b.destroyed).toBe(1);
  });

  it('keeps an engine while work runs on it (a training, a benchmark), through overlapping runs', () => {
    const { state, engines, use } = page();
    const first = state.current!;
    const training = engines.busy(first);
    const bench = engines.busy(first);
    use(new FakeEngine('tuned'));
    expect(first.destroyed).toBe(0);
    training();
    training(); // a second call does not end the other run
    expect(first.destroyed).toBe(0);
    expect(engines.waiting).toBe(1);
    bench();
    expect(first.destroyed).toBe(1);
    expect(engines.waiting).toBe(0);
  });
});
