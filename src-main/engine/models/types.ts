/**
 * What every backbone offers the rest of the engine (detectron2's idea): named feature maps with
 * known strides and channels; heads and necks never look inside the backbone.
 */
import type * as tf from '@tensorflow/tfjs';

/**
 * Level names by stride (res2 = 4, res3 = 8, res4 = 16, res5 = 32): detectron2's ResNet names, used
 * for every backbone's maps at those strides (MobileNetV2's too; mobilenet-v2.ts says which layers).
 */
export type FeatureName = 'res2' | 'res3' | 'res4' | 'res5';

export interface FeatureInfo {
  stride: number;
  channels: number;
}

/**
 * Called during a training-mode forward pass with each BN layer's batch moments, so running
 * statistics can be updated after the gradient step (outside the tape). The callee must tf.keep
 * what it stores.
 */
export type BatchStatsSink = (
  bnName: string,
  mean: tf.Tensor1D,
  variance: tf.Tensor1D,
  count: number,
) => void;

export interface ForwardOptions {
  training: boolean;
  onBatchStats?: BatchStatsSink;
}

/**
 * Parameters live in Maps keyed by torchvision names (`conv1.weight`, `layer1.0.bn1.running_mean`).
 * Layouts are TF.js's: conv weights [kh, kw, in, out], linear weights [in, out]; export converts.
 */
export interface ParameterSet {
  /** Trainable: conv/linear weights and biases, BN weight (γ) and bias (β). */
  readonly params: Map<string, tf.Variable>;
  /** Not trained by gradients: BN running_mean / running_var (num_batches_tracked is added at export). */
  readonly buffers: Map<string, tf.Variable>;
  /**
   * torchvision's `<bn>.num_batches_tracked`, keyed by BN name (`layer1.0.bn1`); kept as JS numbers
   * because it is a counter, not a tensor. Incremented by updateRunningStats, written at export.
   * Optional so simple ParameterSets need not carry it (export then writes 0).
   */
  readonly numBatchesTracked?: Map<string, number>;
  /**
   * Norm layers without running statistics (GroupNorm), by name (`cls_subnet.1`): their γ / β are
   * norm parameters (optim.weightDecayNorm) though no buffer says so, as a BN's running_mean does.
   */
  readonly affineNorms?: ReadonlySet<string>;
}

/** One BN layer's batch moments from a training-mode forward (count = elements per channel). */
export interface BatchMoments {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
  count: number;
}

export interface Backbone extends ParameterSet {
  readonly name: string;
  readonly baseWidth: number;
  readonly featureInfo: Record<FeatureName, FeatureInfo>;
  forward(x: tf.Tensor4D, options: ForwardOptions): Record<FeatureName, tf.Tensor4D>;
  /**
   * The stage a parameter belongs to, for detectron2's FREEZE_AT: 0 = the stem, k = the layers
   * up to and including res{k+1}'s map; -1 for a name outside the backbone.
   */
  stageOf(paramName: string): number;
  dispose(): void;
}
