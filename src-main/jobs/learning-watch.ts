/**
 * Watches each live run's loss as its metrics arrive and says, once, when the run is judged not
 * learning (shared/metrics/learning-trend: the loss has not fallen after a set fraction of the
 * planned steps). The supervisor writes that line into the run's log; the run's page computes the same
 * verdict from the metrics it streams.
 */
import {
  learningTrend,
  NOT_LEARNING_HINT,
  TREND_LOSS_KEY,
  type LossSample,
} from '../../shared/metrics/learning-trend';

interface Watched {
  loss: LossSample[];
  /** Said already (or already so when the run resumed: the supervisor before this one said it). */
  reported: boolean;
  /** The verdict is recomputed at most every ~0.5 % of the planned steps, not on every step. */
  nextCheck: number;
}

/** Checks per run: enough to say it within half a percent of the steps after it becomes true. */
const CHECKS_PER_RUN = 200;

export class LearningWatch {
  private readonly runs = new Map<string, Watched>();

  /**
   * A run starts or resumes: its loss recorded so far (a resumed run is judged on its whole history)
   * and its planned steps if known.
   */
  start(runId: string, recorded: readonly LossSample[], totalSteps: number | null): void {
    const loss = recorded.map((p) => ({ step: p.step, value: p.value }));
    const reported = totalSteps !== null && learningTrend(loss, totalSteps).state === 'not-learning';
    this.runs.set(runId, { loss, reported, nextCheck: 0 });
  }

  add(runId: string, points: readonly { key: string; step: number; value: number }[]): void {
    const w = this.runs.get(runId);
    if (!w) return;
    for (const p of points) {
      if (p.key !== TREND_LOSS_KEY) continue;
      // A resumed run trains (and reports) again the steps after its checkpoint: they replace the old.
      while (w.loss.length && w.loss[w.loss.length - 1]!.step >= p.step) w.loss.pop();
      w.loss.push({ step: p.step, value: p.value });
    }
  }

  /** The line for the run's log the first time it is judged not learning at `step`; else null. */
  check(runId: string, step: number, totalSteps: number): string | null {
    const w = this.runs.get(runId);
    if (!w || w.reported || step < w.nextCheck) return null;
    w.nextCheck = step + Math.max(1, Math.ceil(totalSteps / CHECKS_PER_RUN));
    const verdict = learningTrend(w.loss, totalSteps);
    if (verdict.state !== 'not-learning') return null;
    w.reported = true;
    return `step ${step}: ${verdict.message} — ${NOT_LEARNING_HINT}`;
  }

  forget(runId: string): void {
    this.runs.delete(runId);
  }
}
