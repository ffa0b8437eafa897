/**
 * Is a run learning? A verdict on its loss series, so a flat run shows long before its end — in the
 * supervisor's run log (one line, when it is first judged not learning) and on the run's page (the
 * trend, live). Pure: the supervisor and the renderer both call it on the series they hold.
 *
 * The trend compares the median loss of the first window of logged steps with the median of the last
 * window (each WINDOW_FRACTION of the points logged up to the judgement point, at least MIN_WINDOW). Medians, not means or an EMA: a
 * single spike (a hard batch, a warm-up step) moves neither, and an EMA of a noisy series still lags
 * by its time constant, which on a short CPU run is a large share of it.
 *
 * "Falling" and "rising" need the change to stand clear of the batch-to-batch noise: more than NOISE_Z
 * standard errors of the difference of the two medians, the noise estimated over the whole series from
 * successive differences (which a trend hardly moves), so a flat noisy run reads "flat". "Not learning"
 * needs no such test: it is the point estimate not having fallen MIN_RELATIVE_FALL, so a learning run
 * under heavy noise is not flagged because its fall is not yet "significant".
 */

/** The series the verdict is on: the loss the optimizer minimises (every run kind logs it). */
export const TREND_LOSS_KEY = 'loss/total';

/** What a "not learning" run should check first; the run log and the run's page both say it. */
export const NOT_LEARNING_HINT =
  'check the learning rate (too low: nothing moves; too high: the loss rises) and its warm-up';

/** One logged loss value. Non-finite values are a diverged run's, not noise: they are not averaged. */
export interface LossSample {
  step: number;
  value: number;
}

/**
 * After this fraction of the planned steps a loss that has not fallen is called "not learning".
 * Why a quarter: warm-up is over by then (the CPU fine-tune recipes warm up over 5 % of the steps, the
 * paper's over ~1 %; CPU pretraining over a quarter epoch of one), and a quarter of the budget is what a
 * user can still save by stopping; a learning detector fine-tune has lost well over MIN_RELATIVE_FALL
 * by then (its loss typically halves over the run).
 */
export const JUDGE_AFTER_FRACTION = 0.25;

/**
 * The relative fall of the median loss (first window → last window) a learning run shows by
 * JUDGE_AFTER_FRACTION of its steps. 10 %: well above what a flat run's window medians drift by, well
 * below what a learning run falls by in a quarter of its steps.
 */
export const MIN_RELATIVE_FALL = 0.1;

/** Below this relative change (either way) the trend reads "flat". */
export const FLAT_BAND = 0.03;

/**
 * Each window holds this share of the points logged up to the judgement point (so 5 % of the planned
 * steps)…
 */
export const WINDOW_FRACTION = 0.2;
/** …and at least this many (a median of fewer is one batch's luck). */
export const MIN_WINDOW = 4;
/** Fewest finite points for any trend: two non-overlapping windows. */
export const MIN_POINTS = 2 * MIN_WINDOW;

/**
 * "Falling" / "rising" need the change to exceed this many standard errors of the difference of the
 * two window medians. 3, not 2: the verdict is recomputed on every update of a live run, and at 2 a
 * flat run would read "falling" or "rising" one update in twenty.
 */
export const NOISE_Z = 3;

export type LearningState =
  /** Too few points, or nothing planned: no trend yet. */
  | 'too-early'
  | 'falling'
  | 'flat'
  | 'rising'
  /** At or after JUDGE_AFTER_FRACTION of the steps, the loss has not fallen by MIN_RELATIVE_FALL. */
  | 'not-learning'
  /** The newest loss is NaN or infinite. */
  | 'diverged';

export interface LossWindow {
  fromStep: number;
  toStep: number;
  median: number;
}

export interface LearningVerdict {
  state: LearningState;
  /** Relative change of the median loss from the first window to the last (−0.23: fell 23 %). */
  change: number | null;
  first: LossWindow | null;
  last: LossWindow | null;
  /** Whether |change| stands clear of the noise (NOISE_Z standard errors). */
  significant: boolean;
  /** The step from which a loss that has not fallen is "not learning". Null without a plan. */
  judgeStep: number | null;
  /** One line for a person: what the trend is, from which steps to which. */
  message: string;
}

export interface LearningTrendOptions {
  judgeAfterFraction?: number;
  minRelativeFall?: number;
}

/**
 * The verdict on a loss series (ascending by step, as the store gives it) of a run planned to take
 * `totalSteps` steps (null when not known yet: a trend, never "not learning").
 */
export function learningTrend(
  series: readonly LossSample[],
  totalSteps: number | null,
  options: LearningTrendOptions = {},
): LearningVerdict {
  const judgeFraction = options.judgeAfterFraction ?? JUDGE_AFTER_FRACTION;
  const minFall = options.minRelativeFall ?? MIN_RELATIVE_FALL;
  const judgeStep =
    totalSteps !== null && totalSteps > 0 ? Math.max(1, Math.ceil(judgeFraction * totalSteps)) : null;
  const none = { change: null, first: null, last: null, significant: false, judgeStep };

  const newest = series[series.length - 1];
  if (newest && !Number.isFinite(newest.value))
    return { ...none, state: 'diverged', message: `loss is ${newest.value} at step ${newest.step}` };

  const points = series.filter((p) => Number.isFinite(p.value));
  if (points.length < MIN_POINTS)
    return {
      ...none,
      state: 'too-early',
      message: `too early to say: ${points.length} of the ${MIN_POINTS} logged steps a trend needs`,
    };

  // The window grows with the run until the judgement point, then stays: a run that fell fast and
  // then levelled off (a pretraining loss does) keeps its early level as the baseline, not its plateau.
  const upToJudge = judgeStep === null ? points.length : points.filter((p) => p.step <= judgeStep).length;
  const w = Math.max(MIN_WINDOW, Math.floor(WINDOW_FRACTION * upToJudge));
  const head = points.slice(0, w);
  const tail = points.slice(-w);
  const first = window(head);
  const last = window(tail);
  // Relative to the first window's level; a loss near zero (|median| tiny) has no meaningful ratio.
  const scale = Math.abs(first.median) || 1e-12;
  const change = (last.median - first.median) / scale;
  // Standard error of a w-point median under normal noise σ: σ·√(π/2)/√w; of the difference: × √2.
  const stderr = (noiseSigma(points) * Math.sqrt(Math.PI / 2) * Math.SQRT2) / Math.sqrt(w);
  const significant = Math.abs(last.median - first.median) > NOISE_Z * stderr;

  const judged = judgeStep !== null && last.toStep >= judgeStep;
  const span = `steps ${range(first)} → ${range(last)}`;
  const pct = `${change > 0 ? '+' : '−'}${Math.abs(100 * change).toFixed(0)} %`;
  const verdict = { change, first, last, significant, judgeStep };
  if (judged && change > -minFall)
    return {
      ...verdict,
      state: 'not-learning',
      message:
        `not learning: the loss has not fallen ${(100 * minFall).toFixed(0)} % after ` +
        `${(100 * judgeFraction).toFixed(0)} % of the steps (median ${pct}, ${span})`,
    };
  if (Math.abs(change) < FLAT_BAND)
    return { ...verdict, state: 'flat', message: `loss flat (median ${pct}, ${span})` };
  if (!significant)
    return { ...verdict, state: 'flat', message: `loss flat within its noise (median ${pct}, ${span})` };
  return change < 0
    ? { ...verdict, state: 'falling', message: `loss falling ${pct} (${span})` }
    : { ...verdict, state: 'rising', message: `loss rising ${pct} (${span})` };
}

function window(points: readonly LossSample[]): LossWindow {
  return {
    fromStep: points[0]!.step,
    toStep: points[points.length - 1]!.step,
    median: median(points.map((p) => p.value)),
  };
}

const range = (w: LossWindow) => (w.fromStep === w.toStep ? `${w.fromStep}` : `${w.fromStep}–${w.toStep}`);

function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/**
 * The per-step noise σ of a series: 1.4826 × the median absolute deviation of its successive
 * differences, over √2 (a difference of two independent draws has twice the variance). Differences
 * cancel a slow trend, so a falling run's fall is not counted as noise; the median ignores spikes.
 */
function noiseSigma(points: readonly LossSample[]): number {
  const d = points.slice(1).map((p, i) => p.value - points[i]!.value);
  const m = median(d);
  return (1.4826 * median(d.map((x) => Math.abs(x - m)))) / Math.SQRT2;
}
