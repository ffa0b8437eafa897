/**
 * SSL heads: BYOL's projector / predictor MLP, Linear(in, hidden) → BN → ReLU → Linear(hidden, out),
 * in a vector form ([N, C]) and a dense form for feature maps ([N, H, W, C], the linears acting as
 * 1×1 convolutions, BN statistics over N·H·W as torch's BatchNorm2d).
 *
 * Both forms run one plain 2-D matMul(x[M, in], W[in, out]) per linear — no transposes — which is
 * the fast XNNPACK fully-connected path on wasm. Names follow torch's nn.Sequential indices:
 * `<prefix>.0.weight/bias` (linear), `<prefix>.1.*` (BN), `<prefix>.3.weight/bias` (linear).
 */
import * as tf from '@tensorflow/tfjs';
import { applyBatchNorm } from './batch-norm-layer';
import { torchDefaultLinear } from './init';
import { addBatchNorm, addParam, createParameterSet, disposeParameterSet, getParam } from './parameter-set';
import type { ForwardOptions, ParameterSet } from './types';

interface MlpHeadBase extends ParameterSet {
  readonly prefix: string;
  readonly inDim: number;
  readonly hiddenDim: number;
  readonly outDim: number;
  readonly numBatchesTracked: Map<string, number>;
  /**
   * How torch holds the linears: nn.Linear ([out, in]) for the vector head, nn.Conv2d 1×1
   * ([out, in, 1, 1]) for the dense one. The exporter reads this.
   */
  readonly torchLayout: 'linear' | 'conv1x1';
  dispose(): void;
}

export interface MlpHead extends MlpHeadBase {
  forward(x: tf.Tensor2D, options: ForwardOptions): tf.Tensor2D;
}

export interface DenseMlpHead extends MlpHeadBase {
  forward(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor4D;
}

function buildMlpParameters(prefix: string, inDim: number, hiddenDim: number, outDim: number, seed: number) {
  for (const [what, v] of Object.entries({ inDim, hiddenDim, outDim })) {
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`MLP head "${prefix}": ${what} must be a positive integer (got ${v})`);
  }
  const set = createParameterSet();
  const linear = (name: string, fanIn: number, fanOut: number) => {
    addParam(set, `${name}.weight`, torchDefaultLinear(fanIn, fanIn * fanOut, seed, `${name}.weight`), [
      fanIn,
      fanOut,
    ]);
    addParam(set, `${name}.bias`, torchDefaultLinear(fanIn, fanOut, seed, `${name}.bias`), [fanOut]);
  };
  linear(`${prefix}.0`, inDim, hiddenDim);
  addBatchNorm(set, `${prefix}.1`, hiddenDim);
  linear(`${prefix}.3`, hiddenDim, outDim);
  return set;
}

/** The MLP on rows of a [M, in] matrix. Caller tidies. */
function mlpRows(set: ParameterSet, prefix: string, x: tf.Tensor2D, options: ForwardOptions): tf.Tensor2D {
  const w0 = getParam(set, `${prefix}.0.weight`) as tf.Tensor2D;
  const b0 = getParam(set, `${prefix}.0.bias`) as tf.Tensor1D;
  const w3 = getParam(set, `${prefix}.3.weight`) as tf.Tensor2D;
  const b3 = getParam(set, `${prefix}.3.bias`) as tf.Tensor1D;
  const h = tf.add(tf.matMul(x, w0), b0) as tf.Tensor2D;
  const z = tf.relu(applyBatchNorm(set, `${prefix}.1`, h, options));
  return tf.add(tf.matMul(z, w3), b3) as tf.Tensor2D;
}

export function createMlpHead(
  prefix: string,
  inDim: number,
  hiddenDim: number,
  outDim: number,
  seed: number,
): MlpHead {
  const set = buildMlpParameters(prefix, inDim, hiddenDim, outDim, seed);
  return {
    prefix,
    inDim,
    hiddenDim,
    outDim,
    torchLayout: 'linear',
    params: set.params,
    buffers: set.buffers,
    numBatchesTracked: set.numBatchesTracked,
    forward(x, options) {
      if (x.rank !== 2 || x.shape[1] !== inDim) {
        throw new Error(`MLP head "${prefix}": expected [N, ${inDim}], got [${x.shape.join(', ')}]`);
      }
      return tf.tidy(() => mlpRows(set, prefix, x, options));
    },
    dispose: () => disposeParameterSet(set),
  };
}

export function createDenseMlpHead(
  prefix: string,
  inDim: number,
  hiddenDim: number,
  outDim: number,
  seed: number,
): DenseMlpHead {
  const set = buildMlpParameters(prefix, inDim, hiddenDim, outDim, seed);
  return {
    prefix,
    inDim,
    hiddenDim,
    outDim,
    torchLayout: 'conv1x1',
    params: set.params,
    buffers: set.buffers,
    numBatchesTracked: set.numBatchesTracked,
    forward(x, options) {
      if (x.rank !== 4 || x.shape[3] !== inDim) {
        throw new Error(
          `Dense MLP head "${prefix}": expected [N, H, W, ${inDim}], got [${x.shape.join(', ')}]`,
        );
      }
      const [n, h, w] = x.shape;
      return tf.tidy(() => {
        // A 1×1 conv is a matMul over pixels; BN over the rows = BatchNorm2d's N·H·W statistics.
        const rows = mlpRows(set, prefix, tf.reshape(x, [n * h * w, inDim]), options);
        return tf.reshape(rows, [n, h, w, outDim]);
      });
    },
    dispose: () => disposeParameterSet(set),
  };
}
