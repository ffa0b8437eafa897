/**
 * The Region Proposal Network of Faster R-CNN with FPN (detectron2's StandardRPNHead + RPN): one
 * conv3×3 → ReLU, then 1×1 convs for A objectness logits and A·4 deltas, shared by every level.
 * Training samples 256 anchors per image (≤ ½ positive; IoU ≥ 0.7 positive — plus each object's
 * best anchors — and < 0.3 negative); both losses are summed and divided by 256 × images.
 * Proposals: per level the top-k anchors by objectness, decoded and clipped, empty boxes dropped,
 * NMS per level, then the image's top-k — computed in JS from the logits' values: proposals carry
 * no gradient (as in detectron2).
 */
import * as tf from '@tensorflow/tfjs';
import type { FinetuneConfig } from '../../../../shared/config/finetune';
import type { Rng } from '../../data/rng';
import {
  createParameterSet,
  disposeParameterSet,
  type MutableParameterSet,
} from '../../models/parameter-set';
import type { MultiLevelAnchors } from '../anchors';
import { boxCount, clipBoxes, selectBoxes, type BoxArray } from '../boxes';
import { decodeBoxes, encodeBoxes, type BoxWeights } from '../box-coder';
import { addConvLayer, applyConvLayer } from '../layers';
import { matchBoxes } from '../matcher';
import { batchedNms, topk } from '../nms';
import { subsample } from '../sampling';

export const RPN_WEIGHTS: BoxWeights = [1, 1, 1, 1];

export interface RpnHead extends MutableParameterSet {
  readonly numAnchors: number;
  /** Per level: objectness [N, H, W, A] and deltas [N, H, W, A·4]. */
  forward(levels: tf.Tensor4D[]): { objectness: tf.Tensor4D[]; deltas: tf.Tensor4D[] };
  dispose(): void;
}

export function createRpnHead(channels: number, numAnchors: number, seed: number): RpnHead {
  const set = createParameterSet();
  const init = { std: 0.01 };
  addConvLayer(set, 'conv', { kernel: 3, inChannels: channels, outChannels: channels, init }, seed);
  addConvLayer(
    set,
    'objectness_logits',
    { kernel: 1, inChannels: channels, outChannels: numAnchors, init },
    seed,
  );
  addConvLayer(
    set,
    'anchor_deltas',
    { kernel: 1, inChannels: channels, outChannels: numAnchors * 4, init },
    seed,
  );
  const opts = { training: false };
  return {
    ...set,
    numAnchors,
    forward(levels) {
      return tf.tidy(() => {
        const objectness: tf.Tensor4D[] = [];
        const deltas: tf.Tensor4D[] = [];
        for (const x of levels) {
          const h = tf.relu(applyConvLayer(set, 'conv', x, opts));
          objectness.push(applyConvLayer(set, 'objectness_logits', h, opts));
          deltas.push(applyConvLayer(set, 'anchor_deltas', h, opts));
        }
        return { objectness, deltas };
      });
    },
    dispose() {
      disposeParameterSet(set);
    },
  };
}

export interface RpnTargets {
  /** [N · A]: 1 sampled positive, 0 sampled negative (as float targets). */
  labels: Float32Array;
  /** [N · A]: 1 where sampled. */
  sampled: Float32Array;
  /** [N · A]: 1 for sampled positives. */
  positive: Float32Array;
  deltas: Float32Array;
  boxes: Float32Array;
}

export function rpnTargets(
  anchors: BoxArray,
  gtBoxes: BoxArray[],
  config: FinetuneConfig['rpn'],
  rng: Rng,
): RpnTargets {
  const A = boxCount(anchors);
  const N = gtBoxes.length;
  const t: RpnTargets = {
    labels: new Float32Array(N * A),
    sampled: new Float32Array(N * A),
    positive: new Float32Array(N * A),
    deltas: new Float32Array(N * A * 4),
    boxes: new Float32Array(N * A * 4),
  };
  for (let n = 0; n < N; n++) {
    const gt = gtBoxes[n]!;
    const m = matchBoxes(gt, anchors, {
      thresholds: [...config.iouThresholds],
      labels: [0, -1, 1],
      allowLowQualityMatches: true,
    });
    const { positives, negatives } = subsample(
      A,
      (i) => m.labels[i] === 1,
      (i) => m.labels[i] === 0,
      config.batchSizePerImage,
      config.positiveFraction,
      rng,
    );
    const matched = new Float32Array(A * 4);
    matched.set(anchors);
    for (const i of positives) matched.set(gt.subarray(m.matched[i]! * 4, m.matched[i]! * 4 + 4), i * 4);
    t.boxes.set(matched, n * A * 4);
    const deltas = encodeBoxes(anchors, matched, RPN_WEIGHTS);
    for (const i of positives) {
      t.labels[n * A + i] = 1;
      t.sampled[n * A + i] = 1;
      t.positive[n * A + i] = 1;
      t.deltas.set(deltas.subarray(i * 4, i * 4 + 4), (n * A + i) * 4);
    }
    for (const i of negatives) t.sampled[n * A + i] = 1;
  }
  return t;
}

export interface ProposalOptions {
  preNmsTopk: number;
  postNmsTopk: number;
  nmsThresh: number;
}

/**
 * Proposals of image n from the flattened objectness [N · ΣA] and deltas [N · ΣA · 4] values;
 * `size` is the image's (height, width) inside the padded batch. Sorted by decreasing objectness.
 */
export function findProposals(
  objectness: Float32Array,
  deltas: Float32Array,
  anchors: MultiLevelAnchors,
  n: number,
  size: [number, number],
  o: ProposalOptions,
): { boxes: BoxArray; scores: Float32Array } {
  const total = anchors.boxes.length / 4;
  const boxesParts: BoxArray[] = [];
  const scores: number[] = [];
  const levelOf: number[] = [];
  anchors.counts.forEach((count, l) => {
    const start = anchors.starts[l]!;
    const s = objectness.subarray(n * total + start, n * total + start + count);
    const keep = topk(s, o.preNmsTopk);
    const refs = selectBoxes(anchors.boxes.subarray(start * 4, (start + count) * 4), keep);
    const d = new Float32Array(keep.length * 4);
    keep.forEach((i, j) =>
      d.set(deltas.subarray((n * total + start + i) * 4, (n * total + start + i) * 4 + 4), j * 4),
    );
    boxesParts.push(decodeBoxes(refs, d, RPN_WEIGHTS));
    for (const i of keep) {
      scores.push(s[i]!);
      levelOf.push(l);
    }
  });
  const all = new Float32Array(scores.length * 4);
  let off = 0;
  for (const p of boxesParts) {
    all.set(p, off);
    off += p.length;
  }
  clipBoxes(all, size[1], size[0]);
  const valid: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const finite = Number.isFinite(scores[i]!) && [0, 1, 2, 3].every((k) => Number.isFinite(all[i * 4 + k]!));
    if (finite && all[i * 4 + 2]! > all[i * 4]! && all[i * 4 + 3]! > all[i * 4 + 1]!) valid.push(i);
  }
  const vBoxes = selectBoxes(all, valid);
  const vScores = valid.map((i) => scores[i]!);
  const vLevels = valid.map((i) => levelOf[i]!);
  const keep = batchedNms(vBoxes, vScores, vLevels, o.nmsThresh).slice(0, o.postNmsTopk);
  return { boxes: selectBoxes(vBoxes, keep), scores: Float32Array.from(keep, (i) => vScores[i]!) };
}
