/**
 * RetinaNet (Lin et al. 2017) as detectron2 builds it: backbone → FPN P3–P7 (P6, P7 from C5) →
 * shared class / box subnets over 3 scales × 3 ratios of anchors per position. Training: sigmoid
 * focal loss over all non-ignored anchors plus smooth L1 (or GIoU) on foreground anchors, both
 * divided by an EMA of the foreground count (momentum 0.9, starting at 100). Inference per image
 * and level: scores > threshold, top-k candidates, decode; then class-wise NMS and the top
 * detections of the image.
 */
import * as tf from '@tensorflow/tfjs';
import type { FinetuneConfig } from '../../../../shared/config/finetune';
import type { Backbone, ParameterSet } from '../../models/types';
import { multiLevelAnchors, type MultiLevelAnchors } from '../anchors';
import { backboneForwardOptions, backboneTrainableParams } from '../backbone-freeze';
import { selectBoxes } from '../boxes';
import { decodeBoxes, type BoxWeights } from '../box-coder';
import type { Detections, Detector, LossContext, TrainTargets } from '../detector';
import { createFpn, type Fpn } from '../fpn';
import { boxRegressionLoss, sigmoidFocalLoss } from '../losses';
import { topk } from '../nms';
import { finalizeDetections } from '../postprocess';
import { takeValues } from '../../backend/take-values';
import { createRetinaNetHead, type RetinaNetHead } from './head';
import { retinaNetTargets } from './targets';

const WEIGHTS: BoxWeights = [1, 1, 1, 1];
const NORMALIZER_MOMENTUM = 0.9;

export function createRetinaNet(config: FinetuneConfig, backbone: Backbone, numClasses: number): Detector {
  const rc = config.retinanet;
  const seed = config.seed * 7919 + 101;
  const fpn: Fpn = createFpn({
    inFeatures: ['res3', 'res4', 'res5'],
    featureInfo: backbone.featureInfo,
    channels: config.fpn.channels,
    norm: config.fpn.norm,
    topBlock: 'p6p7',
    seed,
  });
  const numAnchors = rc.anchorScales.length * rc.anchorRatios.length;
  const head: RetinaNetHead = createRetinaNetHead({
    channels: config.fpn.channels,
    numClasses,
    numAnchors,
    numConvs: rc.numConvs,
    norm: rc.headNorm,
    normGroups: rc.headNormGroups,
    priorProb: rc.priorProb,
    numLevels: fpn.levels.length,
    seed,
  });
  const specs = fpn.levels.map((l, i) => ({
    stride: l.stride,
    sizes: rc.anchorScales.map((s) => rc.anchorSizes[i]! * s),
    ratios: rc.anchorRatios,
  }));
  const anchorCache = new Map<string, MultiLevelAnchors>();
  const anchorsFor = (shapes: [number, number][]) => {
    const key = shapes.map((s) => s.join('x')).join(',');
    let a = anchorCache.get(key);
    if (!a) anchorCache.set(key, (a = multiLevelAnchors(specs, shapes)));
    return a;
  };
  let lossNormalizer = 100;
  const K = numClasses;
  const parts = new Map<string, ParameterSet>([
    ['backbone', backbone],
    ['fpn', fpn],
    ['head', head],
  ]);

  /** [N, H, W, A·D] per level → [N, ΣHWA, D]. */
  const flatten = (maps: tf.Tensor4D[], d: number) =>
    tf.concat(
      maps.map((m) => tf.reshape(m, [m.shape[0], -1, d])),
      1,
    );

  const network = (images: tf.Tensor4D, training: boolean, ctx?: LossContext) => {
    const sink = ctx?.onBatchStats;
    const feats = backbone.forward(images, backboneForwardOptions(config.backbone.norm, training, sink));
    const levels = fpn.forward(feats, {
      training,
      onBatchStats: sink ? (bn, m, v, n) => sink(`fpn/${bn}`, m, v, n) : undefined,
    });
    const out = head.forward(
      levels,
      training,
      sink ? (bn, m, v, n) => sink(`head/${bn}`, m, v, n) : undefined,
    );
    const shapes = levels.map((l) => [l.shape[1], l.shape[2]] as [number, number]);
    return { ...out, shapes };
  };

  return {
    kind: 'retinanet',
    numClasses,
    backbone,
    parts,
    trainableParams() {
      const out = new Map<string, tf.Variable>();
      for (const [n, v] of backboneTrainableParams(backbone, config.backbone.norm, config.backbone.freezeAt))
        out.set(`backbone/${n}`, v);
      for (const [n, v] of fpn.params) out.set(`fpn/${n}`, v);
      for (const [n, v] of head.params) out.set(`head/${n}`, v);
      return out;
    },
    losses(images, _sizes, targets: TrainTargets, ctx) {
      const { logits, deltas, shapes } = network(images, true, ctx);
      const anchors = anchorsFor(shapes);
      const N = images.shape[0];
      const A = anchors.boxes.length / 4;
      const t = retinaNetTargets(
        anchors.boxes,
        targets.boxes,
        targets.classes,
        K,
        rc.iouThresholds,
        rc.allowLowQualityMatches,
        WEIGHTS,
      );
      lossNormalizer =
        NORMALIZER_MOMENTUM * lossNormalizer + (1 - NORMALIZER_MOMENTUM) * Math.max(t.numForeground, 1);
      const predLogits = flatten(logits, K);
      const predDeltas = flatten(deltas, 4);
      const valid = tf.tensor3d(t.valid, [N, A, 1]);
      const fg = tf.tensor3d(t.foreground, [N, A, 1]);
      const cls = sigmoidFocalLoss(
        predLogits,
        tf.tensor3d(t.classes, [N, A, K]),
        rc.focalAlpha,
        rc.focalGamma,
        valid,
      );
      const refs = tf.tile(tf.tensor3d(anchors.boxes, [1, A, 4]), [N, 1, 1]);
      const box = boxRegressionLoss(
        predDeltas,
        {
          deltas: tf.tensor3d(t.deltas, [N, A, 4]),
          boxes: tf.tensor3d(t.boxes, [N, A, 4]),
          refs,
          weights: fg,
        },
        rc.boxLoss,
        rc.smoothL1Beta,
        WEIGHTS,
      );
      return {
        loss_cls: tf.div(cls, lossNormalizer) as tf.Scalar,
        loss_box_reg: tf.div(box, lossNormalizer) as tf.Scalar,
      };
    },
    async predict(images, sizes) {
      const { logitData, deltaData, shapes } = tf.tidy(() => {
        const o = network(images, false);
        return { logitData: o.logits.map((l) => tf.sigmoid(l)), deltaData: o.deltas, shapes: o.shapes };
      });
      const values = await takeValues([...logitData, ...deltaData]);
      const scores = values.slice(0, logitData.length);
      const deltas = values.slice(logitData.length);
      const anchors = anchorsFor(shapes);
      const N = images.shape[0];
      const out: Detections[] = [];
      for (let n = 0; n < N; n++) {
        const boxesParts: Float32Array[] = [];
        const scoreParts: number[] = [];
        const classParts: number[] = [];
        anchors.counts.forEach((count, l) => {
          const perImage = count * K;
          const s = scores[l]!.subarray(n * perImage, (n + 1) * perImage);
          const cand: number[] = [];
          for (let i = 0; i < perImage; i++) if (s[i]! > rc.scoreThreshTest) cand.push(i);
          const keep = topk(s, rc.topkCandidatesTest, cand);
          const anchorIdx = keep.map((i) => Math.floor(i / K));
          const refs = selectBoxes(
            anchors.boxes.subarray(anchors.starts[l]! * 4, (anchors.starts[l]! + count) * 4),
            anchorIdx,
          );
          const d = deltas[l]!.subarray(n * count * 4, (n + 1) * count * 4);
          const sel = new Float32Array(anchorIdx.length * 4);
          anchorIdx.forEach((a, j) => sel.set(d.subarray(a * 4, a * 4 + 4), j * 4));
          boxesParts.push(decodeBoxes(refs, sel, WEIGHTS));
          for (const i of keep) {
            scoreParts.push(s[i]!);
            classParts.push(i % K);
          }
        });
        out.push(
          finalizeDetections(
            boxesParts,
            scoreParts,
            classParts,
            sizes[n]!,
            rc.nmsThreshTest,
            config.test.detectionsPerImage,
          ),
        );
      }
      return out;
    },
    getState() {
      return { lossNormalizer };
    },
    setState(state) {
      if (typeof state.lossNormalizer === 'number') lossNormalizer = state.lossNormalizer;
    },
    dispose() {
      fpn.dispose();
      head.dispose();
      backbone.dispose();
    },
  };
}
