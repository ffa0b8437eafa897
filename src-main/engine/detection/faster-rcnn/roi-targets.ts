/**
 * Which proposals train the box head (detectron2's StandardROIHeads.label_and_sample_proposals):
 * the ground-truth boxes are appended to the proposals, each proposal is matched (IoU ≥ 0.5:
 * foreground with its object's class, else background = class K), and 512 are sampled per image
 * with at most ¼ foreground. Regression targets are class-specific deltas with weights (10, 10, 5, 5).
 */
import type { Rng } from '../../data/rng';
import { boxCount, concatBoxes, selectBoxes, type BoxArray } from '../boxes';
import { encodeBoxes, type BoxWeights } from '../box-coder';
import { matchBoxes } from '../matcher';
import { subsample } from '../sampling';

export interface SampledRois {
  /** Sampled boxes of all images, image-major: [R × 4]. */
  boxes: BoxArray;
  batchIndex: Int32Array;
  /** 0..K−1 foreground class, K background. */
  classes: Int32Array;
  /** Regression target per RoI (zeros for background): [R × 4]. */
  deltas: Float32Array;
  /** Matched ground-truth boxes (the RoI itself for background): [R × 4]. */
  matchedBoxes: BoxArray;
  /** Index of the matched ground-truth object in its image (−1 for background): Mask R-CNN's mask targets. */
  matchedIndex: Int32Array;
  numForeground: number;
}

export function sampleRois(
  proposals: BoxArray[],
  gtBoxes: BoxArray[],
  gtClasses: Int32Array[],
  numClasses: number,
  o: { batchSizePerImage: number; positiveFraction: number; iouThreshold: number; weights: BoxWeights },
  rng: Rng,
): SampledRois {
  const boxes: BoxArray[] = [];
  const matched: BoxArray[] = [];
  const batch: number[] = [];
  const classes: number[] = [];
  const matchedIndex: number[] = [];
  proposals.forEach((props, n) => {
    const gt = gtBoxes[n]!;
    const candidates = concatBoxes([props, gt]);
    const P = boxCount(candidates);
    const m = matchBoxes(gt, candidates, {
      thresholds: [o.iouThreshold],
      labels: [0, 1],
      allowLowQualityMatches: false,
    });
    const cls = (i: number) =>
      boxCount(gt) > 0 && m.labels[i] === 1 ? gtClasses[n]![m.matched[i]!]! : numClasses;
    const { positives, negatives } = subsample(
      P,
      (i) => cls(i) < numClasses,
      (i) => cls(i) === numClasses,
      o.batchSizePerImage,
      o.positiveFraction,
      rng,
    );
    const keep = [...positives, ...negatives];
    const kept = selectBoxes(candidates, keep);
    const tgt = new Float32Array(kept.length);
    keep.forEach((i, j) => {
      const src =
        cls(i) < numClasses
          ? gt.subarray(m.matched[i]! * 4, m.matched[i]! * 4 + 4)
          : candidates.subarray(i * 4, i * 4 + 4);
      tgt.set(src, j * 4);
    });
    boxes.push(kept);
    matched.push(tgt);
    for (const i of keep) {
      batch.push(n);
      classes.push(cls(i));
      matchedIndex.push(cls(i) < numClasses ? m.matched[i]! : -1);
    }
  });
  const all = concatBoxes(boxes);
  const matchedAll = concatBoxes(matched);
  const deltas = encodeBoxes(all, matchedAll, o.weights);
  let numForeground = 0;
  classes.forEach((c, i) => {
    if (c < numClasses) numForeground++;
    else deltas.fill(0, i * 4, i * 4 + 4);
  });
  return {
    boxes: all,
    batchIndex: Int32Array.from(batch),
    classes: Int32Array.from(classes),
    deltas,
    matchedBoxes: matchedAll,
    matchedIndex: Int32Array.from(matchedIndex),
    numForeground,
  };
}
