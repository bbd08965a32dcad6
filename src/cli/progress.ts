// Progress bars on stderr, for the commands that run long (train, cluster, index). Drawn on a
// terminal only: off one (a pipe, a log file), cli-progress draws nothing, but a command that
// believed its bar was on opened a blank line before each notice to step off it.
import cliProgress from 'cli-progress';

/**
 * A bar in `format` (cli-progress' tokens) when `progress` is not false (`--no-progress`) and
 * `stream` is a terminal; otherwise null.
 */
export function progressBar(format: string, progress: boolean | undefined, more: Partial<cliProgress.Options> = {}, stream: { isTTY?: boolean } = process.stderr): cliProgress.SingleBar | null {
  if (progress === false || stream.isTTY !== true) return null;
  return new cliProgress.SingleBar({ format, hideCursor: true, clearOnComplete: false, ...more }, cliProgress.Presets.shades_classic);
}
