/**
 * The mask branch of Mask R-CNN's ROI heads (detectron2's StandardROIHeads with MASK_ON): it trains
 * on the foreground RoIs the box head sampled (select_foreground_proposals), pooled from their
 * assigned FPN level by the R-CNN's pooler, with targets cropped from each RoI's matched object's
 * mask (mask-targets.ts); the loss is mask_rcnn_loss: per-pixel binary cross-entropy with logits
 * of the matched class's mask only, averaged over the foreground RoIs' pixels. At inference it
 * runs on the final detections' boxes and hands back each detection's class mask as probabilities.
 *
 * It knows nothing of the backbone: the R-CNN gives it a pooler (RoIAlign on its levels).
 */
import * as tf from '@tensorflow/tfjs';
import type { FinetuneConfig } from '../../../../shared/config/finetune';
import type { BoxArray } from '../boxes';
import type { TrainTargets } from '../detector';
import type { SampledRois } from '../faster-rcnn/roi-targets';
import { sigmoidCrossEntropy } from '../losses';
import { createMaskHead, type MaskHead } from './mask-head';
import { maskTargets, type PlacedMask } from './mask-targets';

/**
 * RoIAlign of `boxes` (batch pixels, image `batchIndex[i]`) on each box's assigned level, to
 * `resolution`² bins: [numRois, resolution, resolution, C], rows past the boxes zero.
 */
export type Pooler = (
  boxes: BoxArray,
  batchIndex: Int32Array,
  numRois: number,
  resolution: number,
  samplingRatio: number,
) => tf.Tensor4D;

/** What the host prepares (outside the gradient tape) for the mask loss of a batch. */
export interface MaskLossPlan {
  /** The foreground RoIs that have a mask: boxes, images, classes, and their targets [F · M · M]. */
  boxes: BoxArray;
  batchIndex: Int32Array;
  classes: Int32Array;
  targets: Float32Array;
}

export interface MaskBranch {
  readonly head: MaskHead;
  /** Side of the predicted masks (twice the pooler's). */
  readonly maskSize: number;
  /** Targets of the sampled RoIs' foreground (those whose object has a mask). */
  plan(rois: SampledRois, targets: TrainTargets): MaskLossPlan;
  /** mask_rcnn_loss on the tape; `rows` ≥ the plan's RoIs (padding rows weigh 0). */
  loss(pool: Pooler, plan: MaskLossPlan, rows: number): tf.Scalar;
  /** Sigmoid masks of each box's class: [rows, M, M] (rows past the boxes are padding). */
  predict(
    pool: Pooler,
    boxes: BoxArray,
    batchIndex: Int32Array,
    classes: Int32Array,
    rows: number,
  ): tf.Tensor3D;
  dispose(): void;
}

export function createMaskBranch(
  config: FinetuneConfig,
  inChannels: number,
  numClasses: number,
  seed: number,
): MaskBranch {
  const mc = config.roiMaskHead;
  const K = numClasses;
  const M = 2 * mc.poolerResolution;
  const head = createMaskHead({ inChannels, numConv: mc.numConv, convDim: mc.convDim, numClasses: K }, seed);

  /** [rows, 2P, 2P, K] logits of the boxes. */
  const logits = (pool: Pooler, boxes: BoxArray, batchIndex: Int32Array, rows: number) =>
    head.forward(pool(boxes, batchIndex, Math.max(rows, 1), mc.poolerResolution, mc.samplingRatio));

  /** [rows, 1, 1, K] one-hot of each row's class (padding rows all zero): picks its class's mask without a gather. */
  const classMask = (classes: Int32Array, rows: number) => {
    const onehot = new Float32Array(Math.max(rows, 1) * K);
    classes.forEach((c, r) => (onehot[r * K + c] = 1));
    return tf.tensor4d(onehot, [Math.max(rows, 1), 1, 1, K]);
  };

  return {
    head,
    maskSize: M,
    plan(rois, targets) {
      const fg: number[] = [];
      const placed: PlacedMask[] = [];
      for (let r = 0; r < rois.classes.length; r++) {
        if (rois.classes[r]! >= K) continue;
        const mask = targets.masks?.[rois.batchIndex[r]!]?.[rois.matchedIndex[r]!];
        if (!mask) continue;
        fg.push(r);
        placed.push(mask);
      }
      const boxes = new Float32Array(fg.length * 4);
      fg.forEach((r, j) => boxes.set(rois.boxes.subarray(r * 4, r * 4 + 4), j * 4));
      return {
        boxes,
        batchIndex: Int32Array.from(fg, (r) => rois.batchIndex[r]!),
        classes: Int32Array.from(fg, (r) => rois.classes[r]!),
        targets: maskTargets(boxes, placed, M),
      };
    },
    loss(pool, plan, rows) {
      return tf.tidy(() => {
        const F = plan.classes.length;
        const R = Math.max(rows, 1);
        if (rows < F) throw new Error(`mask loss: ${rows} rows for ${F} RoIs`);
        const own = tf.sum(
          tf.mul(logits(pool, plan.boxes, plan.batchIndex, R), classMask(plan.classes, R)),
          3,
        );
        const targets = new Float32Array(R * M * M);
        targets.set(plan.targets);
        const weights = new Float32Array(R).fill(1, 0, F).fill(0, F);
        const sum = sigmoidCrossEntropy(
          own,
          tf.tensor3d(targets, [R, M, M]),
          tf.tensor3d(weights, [R, 1, 1]),
        );
        // detectron2: the mean over the foreground RoIs' pixels (0 when there are none).
        return tf.mul(sum, mc.lossWeight / (Math.max(F, 1) * M * M)) as tf.Scalar;
      });
    },
    predict(pool, boxes, batchIndex, classes, rows) {
      return tf.tidy(() => {
        const R = Math.max(rows, 1);
        const own = tf.sum(tf.mul(logits(pool, boxes, batchIndex, R), classMask(classes, R)), 3);
        return tf.sigmoid(own) as tf.Tensor3D;
      });
    },
    dispose() {
      head.dispose();
    },
  };
}
