/**
 * detectron2's Matcher: each prediction (anchor or proposal) gets its best ground truth and a label
 * from its IoU with it: IoU < thresholds[0] → 0 (background), IoU ≥ thresholds[last] → 1
 * (foreground), in between → −1 (ignored). With `allowLowQualityMatches`, every ground truth also
 * turns into foreground the predictions that reach its own highest IoU (ties included), so no
 * object is left without a positive even when no anchor reaches the threshold.
 */
import { boxCount, pairwiseIou, type BoxArray } from './boxes';

export interface MatcherOptions {
  /** Increasing IoU thresholds, e.g. [0.4, 0.5] (RetinaNet) or [0.5] (RoI heads). */
  thresholds: number[];
  /** One label per interval: thresholds.length + 1 of them, each in {−1, 0, 1}. */
  labels: number[];
  allowLowQualityMatches: boolean;
}

export interface MatchResult {
  /** Index of the best ground truth for each prediction (0 when there is none). */
  matched: Int32Array;
  /** Label per prediction: 1, 0 or −1. */
  labels: Int8Array;
  /** Best IoU per prediction. */
  maxIou: Float32Array;
}

export function matchBoxes(gt: BoxArray, predictions: BoxArray, options: MatcherOptions): MatchResult {
  const { thresholds, labels: intervalLabels } = options;
  if (intervalLabels.length !== thresholds.length + 1)
    throw new Error(
      `matcher: ${thresholds.length} threshold(s) need ${thresholds.length + 1} labels, got ${intervalLabels.length}`,
    );
  const g = boxCount(gt);
  const n = boxCount(predictions);
  const matched = new Int32Array(n);
  const labels = new Int8Array(n);
  const maxIou = new Float32Array(n);
  if (g === 0) {
    // No objects: everything is background (detectron2 labels all predictions with labels[0]).
    labels.fill(intervalLabels[0]!);
    return { matched, labels, maxIou };
  }
  const iou = pairwiseIou(gt, predictions); // [g × n]
  for (let j = 0; j < n; j++) {
    let best = -1;
    let arg = 0;
    for (let i = 0; i < g; i++) {
      const v = iou[i * n + j]!;
      if (v > best) {
        best = v;
        arg = i;
      }
    }
    matched[j] = arg;
    maxIou[j] = best;
    let k = 0;
    while (k < thresholds.length && best >= thresholds[k]!) k++;
    labels[j] = intervalLabels[k]!;
  }
  if (options.allowLowQualityMatches) {
    for (let i = 0; i < g; i++) {
      let best = 0;
      for (let j = 0; j < n; j++) best = Math.max(best, iou[i * n + j]!);
      // A ground truth that overlaps nothing would otherwise turn every IoU-0 prediction into a positive.
      if (best <= 0) continue;
      for (let j = 0; j < n; j++) if (iou[i * n + j] === best) labels[j] = 1;
    }
  }
  return { matched, labels, maxIou };
}
