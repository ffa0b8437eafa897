/**
 * Newly initialised detector layers on a ParameterSet: convolutions with bias (or with a norm
 * instead of a bias, as detectron2 does), linear layers, and the inits detectron2 uses for them.
 * Conv weights [k, k, in, out], linear weights [in, out] (the engine's layouts).
 */
import * as tf from '@tensorflow/tfjs';
import type { LayerNorm } from '../../../shared/config/finetune';
import { applyBatchNorm } from '../models/batch-norm-layer';
import { normalArray, uniformArray } from '../models/init';
import { addBatchNorm, addParam, getParam, type MutableParameterSet } from '../models/parameter-set';
import type { ForwardOptions, ParameterSet } from '../models/types';

/**
 * `c2-xavier`: detectron2's c2_xavier_fill, kaiming_uniform with a = 1: U(±√(3 / fan_in)).
 * `{ std }`: normal(0, std) as the RetinaNet / RPN / box predictor heads use.
 */
export type WeightInit = 'c2-xavier' | { std: number };

function initValues(init: WeightInit, fanIn: number, size: number, seed: number, name: string): Float32Array {
  return init === 'c2-xavier'
    ? uniformArray(size, Math.sqrt(3 / fanIn), seed, name)
    : normalArray(size, init.std, seed, name);
}

export interface ConvLayerSpec {
  kernel: number;
  inChannels: number;
  outChannels: number;
  init: WeightInit;
  /** `bn`: no bias, a BN `<name>.norm` after the conv (detectron2's Conv2d(norm=...)). */
  norm?: LayerNorm;
  /** false: neither a bias nor a norm here, the caller's norm follows (GroupNorm, as torchvision's). */
  bias?: boolean;
  biasValue?: number;
}

export function addConvLayer(
  set: MutableParameterSet,
  name: string,
  spec: ConvLayerSpec,
  seed: number,
): void {
  const { kernel: k, inChannels: cin, outChannels: cout } = spec;
  const fanIn = cin * k * k;
  addParam(set, `${name}.weight`, initValues(spec.init, fanIn, k * k * cin * cout, seed, `${name}.weight`), [
    k,
    k,
    cin,
    cout,
  ]);
  if (spec.norm === 'bn') addBatchNorm(set, `${name}.norm`, cout);
  else if (spec.bias !== false)
    addParam(set, `${name}.bias`, new Float32Array(cout).fill(spec.biasValue ?? 0), [cout]);
}

/** conv (stride, torch-style symmetric padding (k − 1) / 2) then bias or norm; no activation. */
export function applyConvLayer(
  set: ParameterSet,
  name: string,
  x: tf.Tensor4D,
  options: ForwardOptions,
  stride = 1,
): tf.Tensor4D {
  const w = getParam(set, `${name}.weight`) as tf.Tensor4D;
  const pad = (w.shape[0] - 1) / 2;
  const y = tf.conv2d(x, w, stride, pad === 0 ? 'valid' : pad);
  const bias = set.params.get(`${name}.bias`);
  if (bias) return tf.add(y, bias) as tf.Tensor4D;
  return set.params.has(`${name}.norm.weight`) ? applyBatchNorm(set, `${name}.norm`, y, options) : y;
}

export function addLinearLayer(
  set: MutableParameterSet,
  name: string,
  inDim: number,
  outDim: number,
  init: WeightInit,
  seed: number,
): void {
  addParam(set, `${name}.weight`, initValues(init, inDim, inDim * outDim, seed, `${name}.weight`), [
    inDim,
    outDim,
  ]);
  addParam(set, `${name}.bias`, new Float32Array(outDim), [outDim]);
}

/**
 * x [M, in] · W [in, out] + b with a supplied gradient: dX = dY · transpose(W), dW = transpose(X) · dY.
 * Stock matMul gradients use transposeA / transposeB, which wasm runs as a naive loop (~1 GFLOP/s,
 * measured: 1.6 s of a 1.8 s Faster R-CNN step); an explicit transpose and a plain 2-D matMul take
 * XNNPACK's path instead.
 */
const linear = tf.customGrad((x, w, b, save) => {
  (save as tf.GradSaveFunc)([x as tf.Tensor, w as tf.Tensor]);
  return {
    value: tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b as tf.Tensor1D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      const g = dy as tf.Tensor2D;
      return [tf.matMul(g, tf.transpose(ws)), tf.matMul(tf.transpose(xs), g), tf.sum(g, 0)];
    },
  };
});

export function applyLinearLayer(set: ParameterSet, name: string, x: tf.Tensor2D): tf.Tensor2D {
  const w = getParam(set, `${name}.weight`) as tf.Tensor2D;
  const b = getParam(set, `${name}.bias`) as tf.Tensor1D;
  return linear(x, w, b) as tf.Tensor2D;
}
