// onStopSignals (src/cli/stop-signals.ts): the first SIGINT/SIGTERM asks the work under way to
// finish, later ones stop at once; the handler stays on both signals until disposed (so that
// signal-exit, the lock's clean-up, never finds itself alone and raises the signal again).
// Signals delivered with process.emit: the listeners run as for a real signal, the process stays.
// Real signals: train-signal, library-watch.
import { describe, expect, it } from 'vitest';
import { onStopSignals, signalExitCode } from '../src/cli/stop-signals.ts';

describe('onStopSignals', () => {
  it('first once, then again with the first signal; both signals held until disposed', () => {
    const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    const calls: string[] = [];
    const s = onStopSignals(
      (sig) => calls.push(`first ${sig}`),
      (sig) => calls.push(`again ${sig}`),
    );
    expect(s.received).toBeNull();
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual([before[0] + 1, before[1] + 1]);
    process.emit('SIGTERM', 'SIGTERM');
    expect(s.received).toBe('SIGTERM');
    // Still listening after the first: a second signal is ours, not signal-exit's.
    expect(process.listenerCount('SIGINT')).toBe(before[0] + 1);
    process.emit('SIGINT', 'SIGINT');
    process.emit('SIGINT', 'SIGINT');
    expect(calls).toEqual(['first SIGTERM', 'again SIGTERM', 'again SIGTERM']);
    s.dispose();
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
  });

  it('exit statuses as a shell reports them', () => {
    expect(signalExitCode('SIGINT')).toBe(130);
    expect(signalExitCode('SIGTERM')).toBe(143);
  });
});
