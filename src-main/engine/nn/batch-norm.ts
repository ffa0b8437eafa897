/**
 * Batch normalisation over NHWC maps (or [N, C] vectors), training and inference forms.
 * Training mode returns the batch moments so the caller can update running statistics
 * outside the gradient tape (torchvision semantics: unbiased variance for running_var).
 */
import * as tf from '@tensorflow/tfjs';

export interface BatchNormTrainResult<R extends tf.Rank> {
  y: tf.Tensor<R>;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

export function batchNormTrain<R extends tf.Rank>(
  x: tf.Tensor<R>,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon = 1e-5,
): BatchNormTrainResult<R> {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  const y = tf.batchNorm(x, mean, variance, beta, gamma, epsilon) as tf.Tensor<R>;
  return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

export function batchNormInfer<R extends tf.Rank>(
  x: tf.Tensor<R>,
  runningMean: tf.Tensor1D,
  runningVar: tf.Tensor1D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon = 1e-5,
): tf.Tensor<R> {
  return tf.batchNorm(x, runningMean, runningVar, beta, gamma, epsilon) as tf.Tensor<R>;
}
