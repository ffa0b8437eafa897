/**
 * detectron2's subsample_labels: keep at most `round-down(num × positiveFraction)` random
 * positives and fill the rest of `num` with random negatives; everything not kept becomes
 * "ignore". Used by the RPN (256 anchors, ½ positive) and the RoI heads (512 proposals, ¼).
 */
import type { Rng } from '../data/rng';

/**
 * Indices of the sampled positives and negatives. `isPositive` / `isNegative` classify each of
 * the `count` candidates (neither = ignored). Order inside each group is random.
 */
export function subsample(
  count: number,
  isPositive: (i: number) => boolean,
  isNegative: (i: number) => boolean,
  num: number,
  positiveFraction: number,
  rng: Rng,
): { positives: number[]; negatives: number[] } {
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < count; i++) {
    if (isPositive(i)) pos.push(i);
    else if (isNegative(i)) neg.push(i);
  }
  const numPos = Math.min(pos.length, Math.floor(num * positiveFraction));
  const numNeg = Math.min(neg.length, num - numPos);
  return { positives: pickRandom(pos, numPos, rng), negatives: pickRandom(neg, numNeg, rng) };
}

/** k distinct random elements (partial Fisher–Yates). */
function pickRandom(items: number[], k: number, rng: Rng): number[] {
  const a = items.slice();
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(a.length - i);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a.slice(0, k);
}
