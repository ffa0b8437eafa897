/**
 * RetinaNet's head (Lin et al. 2017, detectron2's RetinaNetHead): two subnets shared by every
 * pyramid level, each `numConvs` × (conv3×3 → [norm] → ReLU) then a conv3×3 predictor —
 * A·K class logits (bias −log((1 − π)/π), so every anchor starts at probability π) and A·4 box
 * deltas. Weights normal(0, σ), biases 0, with σ = 0.01 at detectron2's 256 channels and
 * σ = 0.01·√(256 / C) at C channels (`headInitStd`): see there for why.
 *
 * With norm `bn` each level keeps its own batch / running statistics while γ and β are shared,
 * as detectron2's CycleBatchNormList does: levels differ too much in statistics to share them.
 * With norm `gn` (GroupNorm of `normGroups` groups, per image: nothing depends on the batch or the
 * level) the convs have no bias, as torchvision's Conv2dNormActivation: unlike BN's, a bias before
 * GN is not cancelled by it (GN subtracts one mean per group of channels), so keeping it would train
 * parameters torchvision's head does not have.
 */
import * as tf from '@tensorflow/tfjs';
import type { HeadNorm } from '../../../../shared/config/finetune';
import { batchNormInfer, batchNormTrain } from '../../nn/batch-norm';
import { groupNorm } from '../../nn/group-norm';
import {
  addBuffer,
  addParam,
  createParameterSet,
  disposeParameterSet,
  getParam,
  type MutableParameterSet,
} from '../../models/parameter-set';
import type { BatchStatsSink } from '../../models/types';
import { addConvLayer, applyConvLayer } from '../layers';

/** detectron2's head init, normal(0, 0.01), was chosen for 256 channels. */
const REFERENCE_CHANNELS = 256;
const REFERENCE_STD = 0.01;

/**
 * The head's init std at `channels`: detectron2's 0.01 scaled by √(256 / C), so every conv keeps
 * the gain (std · √fan_in) it has at 256 channels. A plain 0.01 makes each 3×3 conv of a narrow
 * head shrink its input by √(9C)·0.01·√½ (0.12 at C = 32 against 0.34 at 256); over the 4 convs
 * and the predictor the outputs and every gradient below them come out ~200× smaller than
 * detectron2's (head output std 2.7e-5 against 5.6e-3 for unit inputs, measured), and a 32-channel
 * RetinaNet stays at its initial loss for hundreds of steps (docs/detection.md).
 */
export function headInitStd(channels: number): number {
  return REFERENCE_STD * Math.sqrt(REFERENCE_CHANNELS / channels);
}

export interface RetinaNetHeadOptions {
  channels: number;
  numClasses: number;
  numAnchors: number;
  numConvs: number;
  norm: HeadNorm;
  /** GroupNorm groups with norm `gn`. */
  normGroups?: number;
  priorProb: number;
  numLevels: number;
  seed: number;
}

export interface RetinaNetHeadOutput {
  /** Per level [N, H, W, A·K]. */
  logits: tf.Tensor4D[];
  /** Per level [N, H, W, A·4]. */
  deltas: tf.Tensor4D[];
}

export interface RetinaNetHead extends MutableParameterSet {
  forward(levels: tf.Tensor4D[], training: boolean, sink?: BatchStatsSink): RetinaNetHeadOutput;
  dispose(): void;
}

export function createRetinaNetHead(o: RetinaNetHeadOptions): RetinaNetHead {
  const set = createParameterSet();
  const C = o.channels;
  const init = { std: headInitStd(C) };
  const normed = o.norm !== 'none';
  // torch's Sequential of (conv, [norm,] relu): conv i sits at index 3i with a norm, 2i without.
  const step = normed ? 3 : 2;
  const groups = o.normGroups ?? 32;
  if (o.norm === 'gn' && C % groups !== 0)
    throw new Error(`RetinaNet head: ${groups} GroupNorm groups do not divide ${C} channels`);
  for (const subnet of ['cls_subnet', 'bbox_subnet']) {
    for (let i = 0; i < o.numConvs; i++) {
      const name = `${subnet}.${i * step}`;
      const conv = { kernel: 3, inChannels: C, outChannels: C, init, norm: 'none' as const };
      addConvLayer(set, name, { ...conv, bias: o.norm !== 'gn' }, o.seed);
      if (normed) {
        const norm = `${subnet}.${i * 3 + 1}`;
        addParam(set, `${norm}.weight`, new Float32Array(C).fill(1), [C]);
        addParam(set, `${norm}.bias`, new Float32Array(C), [C]);
        if (o.norm === 'gn') set.affineNorms.add(norm);
        else
          for (let l = 0; l < o.numLevels; l++) {
            addBuffer(set, `${norm}.${l}.running_mean`, new Float32Array(C), [C]);
            addBuffer(set, `${norm}.${l}.running_var`, new Float32Array(C).fill(1), [C]);
            set.numBatchesTracked.set(`${norm}.${l}`, 0);
          }
      }
    }
  }
  const A = o.numAnchors;
  const bias = -Math.log((1 - o.priorProb) / o.priorProb);
  addConvLayer(
    set,
    'cls_score',
    { kernel: 3, inChannels: C, outChannels: A * o.numClasses, init, biasValue: bias },
    o.seed,
  );
  addConvLayer(set, 'bbox_pred', { kernel: 3, inChannels: C, outChannels: A * 4, init }, o.seed);

  const subnet = (name: string, x: tf.Tensor4D, level: number, training: boolean, sink?: BatchStatsSink) => {
    let h = x;
    for (let i = 0; i < o.numConvs; i++) {
      const conv = `${name}.${i * step}`;
      h = applyConvLayer(set, conv, h, { training: false });
      if (normed) {
        const norm = `${name}.${i * 3 + 1}`;
        const gamma = getParam(set, `${norm}.weight`) as tf.Tensor1D;
        const beta = getParam(set, `${norm}.bias`) as tf.Tensor1D;
        if (o.norm === 'gn') h = groupNorm(h, gamma, beta, groups);
        else if (training) {
          const count = h.size / C;
          if (count < 2)
            throw new Error(
              `RetinaNet head: BN on level ${level} needs more than 1 value per channel (batch × H × W = ${count})`,
            );
          const r = batchNormTrain(h, gamma, beta);
          sink?.(`${norm}.${level}`, r.mean, r.variance, count);
          h = r.y;
        } else {
          h = batchNormInfer(
            h,
            getParam(set, `${norm}.${level}.running_mean`) as tf.Tensor1D,
            getParam(set, `${norm}.${level}.running_var`) as tf.Tensor1D,
            gamma,
            beta,
          );
        }
      }
      h = tf.relu(h);
    }
    return h;
  };

  return {
    ...set,
    forward(levels, training, sink) {
      return tf.tidy(() => {
        const logits: tf.Tensor4D[] = [];
        const deltas: tf.Tensor4D[] = [];
        levels.forEach((x, l) => {
          logits.push(
            applyConvLayer(set, 'cls_score', subnet('cls_subnet', x, l, training, sink), { training: false }),
          );
          deltas.push(
            applyConvLayer(set, 'bbox_pred', subnet('bbox_subnet', x, l, training, sink), {
              training: false,
            }),
          );
        });
        return { logits, deltas };
      });
    },
    dispose() {
      disposeParameterSet(set);
    },
  };
}
