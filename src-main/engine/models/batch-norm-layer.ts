/**
 * A named BN layer of a ParameterSet: picks batch or running statistics from ForwardOptions and
 * reports the batch moments to the caller's sink (running stats are updated after the step).
 */
import type * as tf from '@tensorflow/tfjs';
import { batchNormInfer, batchNormTrain } from '../nn/batch-norm';
import { getParam } from './parameter-set';
import type { ForwardOptions, ParameterSet } from './types';

export function applyBatchNorm<R extends tf.Rank>(
  set: ParameterSet,
  name: string,
  x: tf.Tensor<R>,
  options: ForwardOptions,
): tf.Tensor<R> {
  const gamma = getParam(set, `${name}.weight`) as tf.Tensor1D;
  const beta = getParam(set, `${name}.bias`) as tf.Tensor1D;
  if (!options.training) {
    const mean = getParam(set, `${name}.running_mean`) as tf.Tensor1D;
    const variance = getParam(set, `${name}.running_var`) as tf.Tensor1D;
    return batchNormInfer(x, mean, variance, gamma, beta);
  }
  const channels = x.shape[x.shape.length - 1];
  const count = x.size / channels;
  if (count < 2) {
    // torch refuses too: the unbiased variance n/(n-1) for running_var is undefined.
    throw new Error(`${name}: training-mode batch norm needs more than 1 value per channel (got ${count})`);
  }
  const { y, mean, variance } = batchNormTrain(x, gamma, beta);
  options.onBatchStats?.(name, mean, variance, count);
  return y;
}
