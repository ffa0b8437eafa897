/**
 * RetinaNet's training targets, built in JS before the tape: each anchor is matched to its best
 * ground truth (IoU ≥ 0.5 foreground, < 0.4 background, in between ignored, plus each object's
 * best anchors), giving one-hot class targets, a validity mask and regression targets.
 */
import { boxCount, type BoxArray } from '../boxes';
import { encodeBoxes, type BoxWeights } from '../box-coder';
import { matchBoxes } from '../matcher';

export interface RetinaNetTargets {
  /** [N · A · K] one-hot, 0 for background and ignored anchors. */
  classes: Float32Array;
  /** [N · A] 1 unless ignored. */
  valid: Float32Array;
  /** [N · A] 1 for foreground. */
  foreground: Float32Array;
  /** [N · A · 4] deltas to the matched object (0 elsewhere). */
  deltas: Float32Array;
  /** [N · A · 4] matched object box (the anchor itself elsewhere). */
  boxes: Float32Array;
  numForeground: number;
}

export function retinaNetTargets(
  anchors: BoxArray,
  gtBoxes: BoxArray[],
  gtClasses: Int32Array[],
  numClasses: number,
  thresholds: [number, number],
  allowLowQualityMatches: boolean,
  weights: BoxWeights,
): RetinaNetTargets {
  const A = boxCount(anchors);
  const N = gtBoxes.length;
  const K = numClasses;
  const out: RetinaNetTargets = {
    classes: new Float32Array(N * A * K),
    valid: new Float32Array(N * A),
    foreground: new Float32Array(N * A),
    deltas: new Float32Array(N * A * 4),
    boxes: new Float32Array(N * A * 4),
    numForeground: 0,
  };
  for (let n = 0; n < N; n++) {
    const gt = gtBoxes[n]!;
    const m = matchBoxes(gt, anchors, {
      thresholds: [...thresholds],
      labels: [0, -1, 1],
      allowLowQualityMatches,
    });
    const matchedBoxes = new Float32Array(A * 4);
    for (let a = 0; a < A; a++) {
      const src =
        m.labels[a] === 1
          ? gt.subarray(m.matched[a]! * 4, m.matched[a]! * 4 + 4)
          : anchors.subarray(a * 4, a * 4 + 4);
      matchedBoxes.set(src, a * 4);
    }
    const deltas = encodeBoxes(anchors, matchedBoxes, weights);
    out.boxes.set(matchedBoxes, n * A * 4);
    for (let a = 0; a < A; a++) {
      const row = n * A + a;
      const label = m.labels[a]!;
      if (label === -1) continue;
      out.valid[row] = 1;
      if (label === 1) {
        out.foreground[row] = 1;
        out.classes[row * K + gtClasses[n]![m.matched[a]!]!] = 1;
        out.deltas.set(deltas.subarray(a * 4, a * 4 + 4), row * 4);
        out.numForeground++;
      }
    }
  }
  return out;
}
