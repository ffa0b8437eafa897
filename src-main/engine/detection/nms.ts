/**
 * Greedy non-maximum suppression and its class-wise form (torchvision's nms / batched_nms): boxes are
 * visited by decreasing score and a box is dropped when its IoU with a kept box of the same group
 * exceeds the threshold. Plain JS: at ≤ a few thousand candidates this is faster than the round trip
 * through tf.image.nonMaxSuppression, and the grouping is exact rather than the coordinate-offset trick.
 */
import { iouAt, type BoxArray } from './boxes';

/** Indices into `boxes` of the kept boxes, by decreasing score (ties: lower index first). */
export function nms(
  boxes: BoxArray,
  scores: ArrayLike<number>,
  iouThreshold: number,
  candidates?: number[],
): number[] {
  const order = (candidates ?? Array.from({ length: scores.length }, (_, i) => i)).slice();
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  const keep: number[] = [];
  const suppressed = new Uint8Array(order.length);
  for (let p = 0; p < order.length; p++) {
    if (suppressed[p]) continue;
    const i = order[p]!;
    keep.push(i);
    for (let q = p + 1; q < order.length; q++) {
      if (!suppressed[q] && iouAt(boxes, i, boxes, order[q]!) > iouThreshold) suppressed[q] = 1;
    }
  }
  return keep;
}

/** NMS inside each group (class, or level for RPN proposals); result sorted by decreasing score. */
export function batchedNms(
  boxes: BoxArray,
  scores: ArrayLike<number>,
  groups: ArrayLike<number>,
  iouThreshold: number,
): number[] {
  const byGroup = new Map<number, number[]>();
  for (let i = 0; i < scores.length; i++) {
    const g = groups[i]!;
    let list = byGroup.get(g);
    if (!list) byGroup.set(g, (list = []));
    list.push(i);
  }
  const keep: number[] = [];
  for (const list of byGroup.values()) keep.push(...nms(boxes, scores, iouThreshold, list));
  return keep.sort((a, b) => scores[b]! - scores[a]! || a - b);
}

/** Indices of the k largest values (ties: lower index first), in decreasing order. */
export function topk(values: ArrayLike<number>, k: number, candidates?: number[]): number[] {
  const idx = candidates ? candidates.slice() : Array.from({ length: values.length }, (_, i) => i);
  idx.sort((a, b) => values[b]! - values[a]! || a - b);
  return idx.length > k ? idx.slice(0, k) : idx;
}
