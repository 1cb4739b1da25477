/**
 * Yarn's own progress bar over a count of packages, as its fetch step shows.
 * Yarn's StreamReport draws it only on a TTY without `--json` (and not in CI
 * unless `enableProgressBars` says so); elsewhere it prints nothing.
 */
import { Report } from '@yarnpkg/core';

/** Runs `work` with a counter of `total` shown as Yarn's progress bar; `work` calls `tick` once per package done. */
export async function withPackageProgress<T>(report: Pick<Report, 'reportProgress'>, total: number, work: (tick: () => void) => Promise<T>): Promise<T> {
  const counter = Report.progressViaCounter(total);
  const shown = report.reportProgress(counter);
  let done = 0;
  try {
    return await work(() => {
      done++;
      counter.tick();
    });
  } finally {
    // A counter that reached its total ends the bar itself, after drawing it full; stopping it now would drop that last frame.
    if (done < total) shown.stop();
  }
}
