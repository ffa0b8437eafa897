/**
 * Follows a run in the terminal: progress bar with ETA and latest loss, log lines, and a summary.
 * Ctrl-C pauses the run at a checkpoint (resume with `selfemd resume ID`) instead of losing it.
 */
import type { RunRecord } from '../../shared/dto';
import { CliError } from './cli-error';
import type { StudioContext } from './home';
import { ProgressBar } from './progress-bar';

/** What a command adds to the summary of its kind of run (a fine-tune's evaluation). */
export interface RunSummary {
  /** Merged into the --json object. */
  fields: Record<string, unknown>;
  /** Printed after the summary line. */
  lines: string[];
}

export async function followRun(
  studio: StudioContext,
  runId: string,
  opts: { json?: boolean; summary?: (run: RunRecord) => RunSummary } = {},
): Promise<void> {
  const bar = new ProgressBar();
  let loss = NaN;
  let firstLoss = NaN;
  // progress of a step can arrive before its metrics (they are committed in batches): until the
  // first loss is reported the bar shows none, rather than "loss NaN" on a healthy run
  let lossSeen = false;
  const off = studio.manager.on((e) => {
    if ('runId' in e && e.runId !== runId) return;
    if (e.type === 'metrics') {
      for (const p of e.points)
        if (p.key === 'loss/total') {
          loss = p.value;
          if (!lossSeen) firstLoss = p.value;
          lossSeen = true;
        }
    } else if (e.type === 'progress') {
      bar.update(
        e.progress.step,
        e.progress.totalSteps,
        e.progress.etaSeconds,
        lossSeen ? `loss ${loss.toFixed(4)}` : '',
      );
    } else if (e.type === 'log') {
      if (!opts.json) process.stderr.write(`\r\x1b[K${e.message}\n`);
    }
  });
  const onSigint = () => {
    process.stderr.write('\npausing at a checkpoint…\n');
    void studio.manager.pause(runId);
  };
  process.once('SIGINT', onSigint);
  process.stderr.write(`run ${runId} started\n`);
  const run = await studio.manager.wait(runId);
  process.off('SIGINT', onSigint);
  off();
  bar.done();
  const series = studio.store.getMetrics(runId, ['loss/total'])[0]?.points ?? [];
  const first = series[0]?.value ?? firstLoss;
  const last = series.at(-1)?.value ?? loss;
  const extra = opts.summary?.(run) ?? { fields: {}, lines: [] };
  if (opts.json) {
    console.log(JSON.stringify({ run, firstLoss: first, lastLoss: last, ...extra.fields }, null, 2));
  } else {
    console.log(`run ${runId}: ${run.status} at step ${run.step}/${run.totalSteps ?? '?'}`);
    if (series.length)
      console.log(`loss ${first.toFixed(4)} → ${last.toFixed(4)} over ${series.length} steps`);
    if (run.backend)
      console.log(
        `backend ${run.backend.name} ${run.backend.version}, ${run.backend.threads ?? 1} thread(s)`,
      );
    if (run.status === 'paused' || run.status === 'interrupted')
      console.log(`resume with: selfemd resume ${runId}`);
    for (const line of extra.lines) console.log(line);
  }
  if (run.status === 'failed') throw new CliError(`run ${runId} failed: ${run.error ?? 'unknown error'}`, 1);
}
