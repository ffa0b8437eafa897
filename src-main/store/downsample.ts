/**
 * Min/max downsampling for long metric series (see MetricQuery.maxPoints). Streaming: it walks the rows
 * once and holds only the output, so a 1M-step curve costs no more memory than the chart it feeds.
 *
 * Why min/max rather than every k-th point: a loss spike or a NaN lasting a few steps is exactly what the
 * user needs to see, and stride sampling drops it with probability 1 − 1/k.
 */
import type { MetricSample } from '../../shared/dto/metrics';

/** NaN ranks above every number, so a diverged bucket shows its NaN as the bucket's high point. */
const above = (a: number, b: number): boolean =>
  Number.isNaN(a) ? !Number.isNaN(b) : !Number.isNaN(b) && a > b;
const below = (a: number, b: number): boolean => !Number.isNaN(a) && (Number.isNaN(b) || a < b);

/**
 * `rows` must be ascending by step and hold `count` samples. Returns at most `maxPoints` (≥ 2) samples,
 * ascending by step: the first and last sample always, and between them ⌊(maxPoints − 2) / 2⌋ buckets of
 * equal row count, each contributing its lowest and its highest sample (once if they are the same).
 */
export function downsampleMinMax(
  rows: Iterable<MetricSample>,
  count: number,
  maxPoints: number,
): MetricSample[] {
  if (count <= maxPoints) return Array.from(rows);
  const buckets = Math.floor((maxPoints - 2) / 2);
  const interior = count - 2;
  const out: MetricSample[] = [];
  let bucket = -1;
  let lo: MetricSample | undefined;
  let hi: MetricSample | undefined;
  const closeBucket = (): void => {
    if (!lo || !hi) return;
    if (lo === hi) out.push(lo);
    else if (lo.step < hi.step) out.push(lo, hi);
    else out.push(hi, lo);
    lo = hi = undefined;
  };
  let i = 0;
  for (const r of rows) {
    if (i === 0) out.push(r);
    else if (i === count - 1) {
      closeBucket();
      out.push(r);
    } else if (buckets > 0) {
      const b = Math.floor(((i - 1) * buckets) / interior);
      if (b !== bucket) {
        closeBucket();
        bucket = b;
        lo = hi = r;
      } else {
        if (below(r.value, lo!.value)) lo = r;
        if (above(r.value, hi!.value)) hi = r;
      }
    }
    i++;
  }
  closeBucket(); // only matters if `rows` held fewer than `count` samples
  return out;
}
