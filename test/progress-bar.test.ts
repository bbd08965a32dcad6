// The commands' progress bars (src/cli/progress.ts): drawn on a terminal only. `index` drew
// its bar whenever stderr was not known to be no terminal, so off one (a pipe: isTTY
// undefined) it stepped off a bar that was not there with a blank line before each notice.
import { describe, expect, it } from 'vitest';
import { progressBar } from '../src/cli/progress.ts';

describe('progressBar', () => {
  it('is a bar on a terminal, and null on a pipe or a file, or with --no-progress', () => {
    expect(progressBar('{bar}', undefined, {}, { isTTY: true })).not.toBeNull();
    expect(progressBar('{bar}', true, {}, { isTTY: true })).not.toBeNull();
    expect(progressBar('{bar}', undefined, {}, {})).toBeNull();
    expect(progressBar('{bar}', undefined, {}, { isTTY: false })).toBeNull();
    expect(progressBar('{bar}', false, {}, { isTTY: true })).toBeNull();
  });
});
