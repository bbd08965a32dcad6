// Ctrl-C and SIGTERM for commands that finish the work under way on a first signal and stop
// at once on a second (index --watch, train, worker).
import { constants as osConstants } from 'node:os';

/** The exit status of a process stopped by `signal`, as a shell reports it (130 for SIGINT). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + osConstants.signals[signal];
}

export interface StopSignals {
  /** The first signal received, or null. */
  readonly received: NodeJS.Signals | null;
  /** Take the handler off both signals. */
  dispose(): void;
}

/**
 * Call `first` on the first SIGINT or SIGTERM and `again` on each later one (by default: exit at
 * once with the first signal's status). One handler stays on both signals until disposed: the
 * gallery's lock listens for them through signal-exit (src/lock-node.ts), which, finding itself
 * a signal's only listener, releases the lock and raises the signal again, ending the work a
 * first Ctrl-C was to let finish. process.exit still runs exit handlers, so the lock goes either way.
 */
export function onStopSignals(first: (signal: NodeJS.Signals) => void, again: (first: NodeJS.Signals) => void = (s) => process.exit(signalExitCode(s))): StopSignals {
  let received: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) return again(received);
    received = signal;
    first(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    get received() {
      return received;
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
