/**
 * Min/max downsampling for long metric series (see MetricQuery.maxPoints).
 *
 * Why min/max rather than every k-th point: a loss spike or a NaN lasting a few steps is exactly what the
 * user needs to see, and stride sampling drops it with probability 1 − 1/k.
 *
 * It chooses by value alone (`downsampleIndices`), so the store reads only the value column of a long
 * series (and its steps), then fetches the few chosen rows whole: reading every row's three columns
 * cost about 4 µs a row, 2.6 s for a 100 000-step run of six keys.
 */
import type { MetricSample } from '../../shared/dto/metrics';

/** NaN ranks above every number, so a diverged bucket shows its NaN as the bucket's high point. */
const above = (a: number, b: number): boolean =>
  Number.isNaN(a) ? !Number.isNaN(b) : !Number.isNaN(b) && a > b;
const below = (a: number, b: number): boolean => !Number.isNaN(a) && (Number.isNaN(b) || a < b);

/**
 * For `values` in step order, the ascending indices of at most `maxPoints` (≥ 2) samples to keep: the
 * first and last always, and between them ⌊(maxPoints − 2) / 2⌋ buckets of equal row count, each
 * contributing its lowest and its highest sample (the first of equals; once if they are the same).
 */
export function downsampleIndices(values: ArrayLike<number>, maxPoints: number): number[] {
  const count = values.length;
  if (count <= maxPoints) return Array.from({ length: count }, (_, i) => i);
  const buckets = Math.floor((maxPoints - 2) / 2);
  const interior = count - 2;
  const out: number[] = [0];
  let bucket = -1;
  let lo = -1;
  let hi = -1;
  const closeBucket = (): void => {
    if (lo < 0) return;
    if (lo === hi) out.push(lo);
    else out.push(Math.min(lo, hi), Math.max(lo, hi));
    lo = hi = -1;
  };
  if (buckets > 0)
    for (let i = 1; i < count - 1; i++) {
      const b = Math.floor(((i - 1) * buckets) / interior);
      if (b !== bucket) {
        closeBucket();
        bucket = b;
        lo = hi = i;
      } else {
        if (below(values[i]!, values[lo]!)) lo = i;
        if (above(values[i]!, values[hi]!)) hi = i;
      }
    }
  closeBucket();
  out.push(count - 1);
  return out;
}

/** `rows` ascending by step, `count` of them: the samples downsampleIndices keeps. */
export function downsampleMinMax(
  rows: Iterable<MetricSample>,
  count: number,
  maxPoints: number,
): MetricSample[] {
  const all = Array.from(rows);
  if (count <= maxPoints) return all;
  return downsampleIndices(
    all.map((r) => r.value),
    maxPoints,
  ).map((i) => all[i]!);
}

/**
 * A run of consecutive samples summarised: how many, and its lowest and highest sample by the rule of
 * downsampleIndices's buckets (first of equals; NaN ranks above every number). What metric_summary
 * stores per block (migration 0004).
 */
export interface Extremes {
  n: number;
  lo: MetricSample;
  hi: MetricSample;
}

/** Of `samples` (≥ 1, ascending by step). */
export function extremesOf(samples: readonly MetricSample[]): Extremes {
  let lo = samples[0]!;
  let hi = lo;
  for (const s of samples) {
    if (below(s.value, lo.value)) lo = s;
    if (above(s.value, hi.value)) hi = s;
  }
  return { n: samples.length, lo, hi };
}

/** Of consecutive parts (≥ 1, ascending by step): what extremesOf gives for all their samples together. */
export function mergeExtremes(parts: readonly Extremes[]): Extremes {
  let { n, lo, hi } = parts[0]!;
  for (const p of parts.slice(1)) {
    n += p.n;
    if (below(p.lo.value, lo.value)) lo = p.lo;
    if (above(p.hi.value, hi.value)) hi = p.hi;
  }
  return { n, lo, hi };
}

/**
 * A downsampled series from summarised blocks (ascending, covering first…last): the first and last
 * sample, and each block's lowest and highest (once when they are the same sample) between them.
 * At most 2 × blocks + 2 samples.
 */
export function samplesOfBlocks(
  first: MetricSample,
  blocks: Iterable<Extremes>,
  last: MetricSample,
): MetricSample[] {
  const out: MetricSample[] = [first];
  const add = (s: MetricSample): void => {
    if (s.step > out[out.length - 1]!.step) out.push(s);
  };
  for (const b of blocks) {
    const [x, y] = b.lo.step <= b.hi.step ? [b.lo, b.hi] : [b.hi, b.lo];
    add(x);
    add(y);
  }
  add(last);
  return out;
}

/**
 * `blocks` (ascending) in at most `buckets` groups of neighbours, of equal block count as
 * downsampleIndices makes its buckets of equal sample count; each group merged.
 */
export function groupBlocks(blocks: readonly Extremes[], buckets: number): Extremes[] {
  if (blocks.length <= buckets) return [...blocks];
  const groups: Extremes[][] = [];
  blocks.forEach((b, i) => {
    const g = Math.floor((i * buckets) / blocks.length);
    (groups[g] ??= []).push(b);
  });
  return groups.map(mergeExtremes);
}

/**
 * What the store answers from metric_summary at `level` for at most `maxPoints`, computed from every
 * sample (ascending by step): blocks of 2^level steps, grouped by groupBlocks into ⌊(maxPoints − 2) / 2⌋
 * buckets, then samplesOfBlocks. The rule in one place, and the reference the store's tests compare with.
 */
export function downsampleByBlocks(
  samples: readonly MetricSample[],
  level: number,
  maxPoints: number,
): MetricSample[] {
  if (samples.length === 0) return [];
  const size = 2 ** level;
  const blocks: Extremes[] = [];
  let from = 0;
  for (let i = 1; i <= samples.length; i++)
    if (
      i === samples.length ||
      Math.floor(samples[i]!.step / size) !== Math.floor(samples[from]!.step / size)
    ) {
      blocks.push(extremesOf(samples.slice(from, i)));
      from = i;
    }
  const buckets = Math.floor((maxPoints - 2) / 2);
  return samplesOfBlocks(samples[0]!, groupBlocks(blocks, buckets), samples[samples.length - 1]!);
}
