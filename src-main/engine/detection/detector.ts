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

export interface TrainTargets {
  /** Ground truth per image, xyxy in the batch's (resized, flipped) coordinates. */
  boxes: BoxArray[];
  classes: Int32Array[];
}

export interface Detections {
  /** xyxy, in the coordinates of the input batch. */
  boxes: BoxArray;
  scores: Float32Array;
  /** Contiguous class index 0..K−1. */
  classes: Int32Array;
}

export interface LossContext {
  /** Receives BN batch moments keyed `part/bn` (running statistics are updated after the step). */
  onBatchStats: BatchStatsSink;
  /** Sampling randomness (RPN anchors, RoI proposals). */
  rng: Rng;
}

export interface Detector {
  readonly kind: DetectorName;
  readonly numClasses: number;
  readonly backbone: Backbone;
  /** Named parts: `backbone`, `fpn`, then the detector's heads. Checkpoint keys are `part/name`. */
  readonly parts: Map<string, ParameterSet>;
  /** The variables the optimizer updates, keyed `part/name` (frozen ones left out). */
  trainableParams(): Map<string, tf.Variable>;
  /** Scalar losses of a batch; runs the network in training mode. Call inside a gradient tape. */
  losses(images: tf.Tensor4D, sizes: [number, number][], targets: TrainTargets, ctx: LossContext): Record<string, tf.Scalar>;
  /** Inference-mode detections per image of the batch (boxes clipped to each image's size). */
  predict(images: tf.Tensor4D, sizes: [number, number][]): Detections[];
  /** Non-tensor training state that must survive a resume (e.g. RetinaNet's loss normaliser). */
  getState(): Record<string, number>;
  setState(state: Record<string, number>): void;
  dispose(): void;
}
