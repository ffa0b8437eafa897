/**
 * What every detector offers the fine-tuning loop and prediction (detectron2's meta-architecture
 * contract, reduced): named parameter parts, losses on a labelled batch (called inside a gradient
 * tape), and post-processed detections at inference.
 */
import type * as tf from '@tensorflow/tfjs';
import type { DetectorName } from '../../../shared/config/finetune';
import type { Rng } from '../data/rng';
import type { Backbone, BatchStatsSink, ParameterSet } from '../models/types';
import type { BoxArray } from './boxes';
import type { PlacedMask } from './mask-rcnn/mask-targets';

export interface TrainTargets {
  /** Ground truth per image, xyxy in the batch's (resized, flipped) coordinates. */
  boxes: BoxArray[];
  classes: Int32Array[];
  /**
   * Instance masks per image, one per box (Mask R-CNN trains on them; other detectors ignore them).
   * Absent when the dataset has none; null for an object without a mask (its RoIs get no mask loss).
   */
  masks?: (PlacedMask | null)[][];
}

export interface Detections {
  /** xyxy, in the coordinates of the input batch. */
  boxes: BoxArray;
  scores: Float32Array;
  /** Contiguous class index 0..K−1. */
  classes: Int32Array;
  /**
   * Mask detectors: each detection's mask of its class as `maskSize`² probabilities (row-major,
   * over the box), to be pasted into the image (mask-rcnn/paste-masks.ts).
   */
  maskProbs?: Float32Array;
  maskSize?: number;
}

export interface LossContext {
  /** Receives BN batch moments keyed `part/bn` (running statistics are updated after the step). */
  onBatchStats: BatchStatsSink;
  /** Sampling randomness (RPN anchors, RoI proposals). */
  rng: Rng;
}

/**
 * A detector's training step, in two phases where it needs tensor values on the host: `P` is what
 * its `prepareLosses` (outside the tape, reading asynchronously) hands to `losses` (on the tape).
 */
export interface Detector<P = unknown> {
  readonly kind: DetectorName;
  readonly numClasses: number;
  readonly backbone: Backbone;
  /** Named parts: `backbone`, `fpn`, then the detector's heads. Checkpoint keys are `part/name`. */
  readonly parts: Map<string, ParameterSet>;
  /** The variables the optimizer updates, keyed `part/name` (frozen ones left out). */
  trainableParams(): Map<string, tf.Variable>;
  /**
   * Scalar losses of a batch; runs the network in training mode. Call inside a gradient tape, with
   * what `prepareLosses` gave for the same batch and context when the detector has it.
   */
  losses(
    images: tf.Tensor4D,
    sizes: [number, number][],
    targets: TrainTargets,
    ctx: LossContext,
    prepared?: P,
  ): Record<string, tf.Scalar>;
  /**
   * The part of a training step that needs tensor values on the host (Faster R-CNN: proposals from
   * the RPN's outputs, and the anchors and RoIs sampled for the batch), computed before the tape and
   * read with `await data()`: a tape is synchronous, and GPU tensors can only be read asynchronously.
   * Nothing it computes carries a gradient; it consumes `ctx.rng` in the order `losses` would have.
   */
  prepareLosses?(
    images: tf.Tensor4D,
    sizes: [number, number][],
    targets: TrainTargets,
    ctx: LossContext,
  ): Promise<P>;
  /** Inference-mode detections per image of the batch (boxes clipped to each image's size); reads asynchronously. */
  predict(images: tf.Tensor4D, sizes: [number, number][]): Promise<Detections[]>;
  /** Non-tensor training state that must survive a resume (e.g. RetinaNet's loss normaliser). */
  getState(): Record<string, number>;
  setState(state: Record<string, number>): void;
  dispose(): void;
}
