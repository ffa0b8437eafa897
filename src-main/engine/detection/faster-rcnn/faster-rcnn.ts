/**
 * Faster R-CNN with FPN (Ren et al. 2015; Lin et al. 2017) as detectron2's GeneralizedRCNN with
 * StandardROIHeads: backbone → FPN P2–P6 (P6 by max-pooling P5) → RPN on P2–P6 → proposals →
 * RoIAlign (ROIAlignV2, 7×7, adaptive sampling) on the level each RoI is assigned to among P2–P5
 * → 2-FC box head → K + 1 class scores and class-specific deltas. Losses are detectron2's
 * defaults: RPN binary cross-entropy and L1 over 256 sampled anchors per image; box-head softmax
 * cross-entropy (mean over the 512 sampled RoIs per image) and smooth L1 (β 0) on foreground
 * class-specific deltas, divided by the number of sampled RoIs.
 *
 * The RoI count changes every step (fewer proposals or too few foreground candidates). Where the
 * backend keeps a buffer per size (webgpu; backend/capabilities.ts), the box head runs on a fixed
 * count instead — the sampling budget in training, the proposal budget in inference — with the
 * padding RoIs weighted zero in every loss term, so the losses and gradients are those of the real RoIs.
 *
 * With `withMasks` it is Mask R-CNN (He et al. 2017): the same network with a mask branch in the ROI
 * heads (mask-rcnn/mask-branch.ts), trained jointly on the foreground RoIs and run on the final
 * detections, both through this file's pooler (one RoIAlign and level assignment for both heads).
 */
import * as tf from '@tensorflow/tfjs';
import type { FinetuneConfig } from '../../../../shared/config/finetune';
import type { Backbone, ParameterSet } from '../../models/types';
import { multiLevelAnchors, type MultiLevelAnchors } from '../anchors';
import { backboneForwardOptions, backboneTrainableParams } from '../backbone-freeze';
import { decodeBoxes, type BoxWeights } from '../box-coder';
import type { Detections, Detector, LossContext, TrainTargets } from '../detector';
import { createFpn } from '../fpn';
import { boxRegressionLoss, sigmoidCrossEntropy } from '../losses';
import { finalizeDetections } from '../postprocess';
import { assignLevels, planRoiAlign, roiAlign, type RoiLevel } from '../roi-align';
import { buffersPooledBySize } from '../../backend/capabilities';
import { takeValues } from '../../backend/take-values';
import { createBoxHead } from './box-head';
import { createMaskBranch, type MaskLossPlan, type Pooler } from '../mask-rcnn/mask-branch';
import { sampleRois, type SampledRois } from './roi-targets';
import { RPN_WEIGHTS, createRpnHead, findProposals, rpnTargets, type RpnTargets } from './rpn';

/** RoIs are pooled from P2..P5 (the first four FPN outputs). */
const POOLER_LEVELS = 4;
const MIN_POOLER_LEVEL = 2;

/**
 * What the first phase of a training step samples on the host for the taped second: the RPN's
 * anchor targets and the RoIs drawn from its proposals (constants: no gradient flows through them).
 */
export interface FasterRcnnLossPlan {
  rpn: RpnTargets;
  rois: SampledRois;
  /** Mask R-CNN: the foreground RoIs' mask targets. */
  mask?: MaskLossPlan;
}

export function createFasterRcnn(
  config: FinetuneConfig,
  backbone: Backbone,
  numClasses: number,
  withMasks = false,
): Detector<FasterRcnnLossPlan> {
  const seed = config.seed * 7919 + 202;
  const rc = config.rpn;
  const hc = config.roiHeads;
  const K = numClasses;
  const weights = hc.bboxRegWeights as unknown as BoxWeights;
  const fpn = createFpn({
    inFeatures: ['res2', 'res3', 'res4', 'res5'],
    featureInfo: backbone.featureInfo,
    channels: config.fpn.channels,
    norm: config.fpn.norm,
    topBlock: 'maxpool',
    seed,
  });
  const rpn = createRpnHead(config.fpn.channels, rc.anchorRatios.length, seed + 1);
  const P = hc.poolerResolution;
  const head = createBoxHead([P, P, config.fpn.channels], hc.numFc, hc.fcDim, K, seed + 2);
  const mask = withMasks ? createMaskBranch(config, config.fpn.channels, K, seed + 3) : null;
  const specs = fpn.levels.map((l, i) => ({
    stride: l.stride,
    sizes: [rc.anchorSizes[i]!],
    ratios: rc.anchorRatios,
  }));
  const anchorCache = new Map<string, MultiLevelAnchors>();
  const anchorsFor = (shapes: [number, number][]) => {
    const key = shapes.map((s) => s.join('x')).join(',');
    let a = anchorCache.get(key);
    if (!a) anchorCache.set(key, (a = multiLevelAnchors(specs, shapes)));
    return a;
  };
  /** The box head's row count for `count` RoIs of a batch whose budget is `budget`: fixed where shapes must not vary. */
  const roiRows = (count: number, budget: number) =>
    buffersPooledBySize() ? Math.max(count, budget) : count;

  const parts = new Map<string, ParameterSet>([
    ['backbone', backbone],
    ['fpn', fpn],
    ['rpn', rpn],
    ['roi_heads', head],
    ...(mask ? [['roi_mask_head', mask.head] as const] : []),
  ]);

  const features = (images: tf.Tensor4D, training: boolean, ctx?: LossContext) => {
    const sink = ctx?.onBatchStats;
    const feats = backbone.forward(images, backboneForwardOptions(config.backbone.norm, training, sink));
    const levels = fpn.forward(feats, {
      training,
      onBatchStats: sink ? (bn, m, v, n) => sink(`fpn/${bn}`, m, v, n) : undefined,
    });
    const out = rpn.forward(levels);
    const N = images.shape[0];
    const objectness = tf.concat(
      out.objectness.map((o) => tf.reshape(o, [N, -1])),
      1,
    ) as tf.Tensor2D;
    const deltas = tf.concat(
      out.deltas.map((d) => tf.reshape(d, [N, -1, 4])),
      1,
    ) as tf.Tensor3D;
    const shapes = levels.map((l) => [l.shape[1], l.shape[2]] as [number, number]);
    return { levels, objectness, deltas, anchors: anchorsFor(shapes) };
  };

  /**
   * RoIAlign of boxes (image-major, `batchIndex`) on the P2..P5 level each is assigned to: `numRois`
   * rows, the boxes' then zero RoIs (padding to a fixed count). The box and mask heads' pooler.
   */
  const pool = (
    levels: tf.Tensor4D[],
    boxes: Float32Array,
    batchIndex: Int32Array,
    numRois: number,
    resolution: number,
    samplingRatio: number,
  ) => {
    const pooled = levels.slice(0, POOLER_LEVELS);
    const geometry: RoiLevel[] = pooled.map((l, i) => ({
      batch: l.shape[0],
      height: l.shape[1],
      width: l.shape[2],
      stride: fpn.levels[i]!.stride,
    }));
    const levelIndex = assignLevels(
      boxes,
      MIN_POOLER_LEVEL,
      MIN_POOLER_LEVEL + POOLER_LEVELS - 1,
      hc.canonicalBoxSize,
      hc.canonicalLevel,
    );
    const plan = planRoiAlign(boxes, batchIndex, levelIndex, geometry, resolution, samplingRatio, numRois);
    return roiAlign(pooled, plan);
  };
  const poolerOn =
    (levels: tf.Tensor4D[]): Pooler =>
    (boxes, batchIndex, numRois, resolution, samplingRatio) =>
      pool(levels, boxes, batchIndex, numRois, resolution, samplingRatio);
  /** The box head on the RoIs' pooled features. */
  const boxHead = (levels: tf.Tensor4D[], boxes: Float32Array, batchIndex: Int32Array, numRois: number) =>
    head.forward(pool(levels, boxes, batchIndex, numRois, P, hc.samplingRatio));
  /** Mask RoIs in a batch of N images: the sampler's foreground budget where shapes must not vary. */
  const maskRows = (count: number, N: number) =>
    roiRows(count, N * Math.ceil(hc.batchSizePerImage * hc.positiveFraction));

  return {
    kind: mask ? 'mask-rcnn' : 'faster-rcnn',
    numClasses,
    backbone,
    parts,
    trainableParams() {
      const out = new Map<string, tf.Variable>();
      for (const [n, v] of backboneTrainableParams(backbone, config.backbone.norm, config.backbone.freezeAt))
        out.set(`backbone/${n}`, v);
      for (const [part, set] of parts)
        if (part !== 'backbone') for (const [n, v] of set.params) out.set(`${part}/${n}`, v);
      return out;
    },
    async prepareLosses(images, sizes, targets: TrainTargets, ctx) {
      // The RPN's outputs as the taped forward will recompute them (training mode, same weights and
      // batch: the same values), without reporting BN statistics: those come from the taped pass.
      let anchors!: MultiLevelAnchors;
      const { objectness, deltas } = tf.tidy(() => {
        const f = features(images, true);
        anchors = f.anchors;
        return { objectness: f.objectness, deltas: f.deltas };
      });
      // Sampled in the order a single-pass step drew from ctx.rng: RPN anchors, then RoIs.
      const rpn = rpnTargets(anchors.boxes, targets.boxes, rc, ctx.rng);
      const [objValues, deltaValues] = await takeValues([objectness, deltas]);
      const proposals = sizes.map(
        (size, n) =>
          findProposals(objValues!, deltaValues!, anchors, n, size, {
            preNmsTopk: rc.preNmsTopkTrain,
            postNmsTopk: rc.postNmsTopkTrain,
            nmsThresh: rc.nmsThresh,
          }).boxes,
      );
      const rois = sampleRois(
        proposals,
        targets.boxes,
        targets.classes,
        K,
        {
          batchSizePerImage: hc.batchSizePerImage,
          positiveFraction: hc.positiveFraction,
          iouThreshold: hc.iouThreshold,
          weights,
        },
        ctx.rng,
      );
      if (!mask) return { rpn, rois };
      if (!targets.masks)
        throw new Error(
          'Mask R-CNN: the training batch has no instance masks (the dataset has no segmentation to train the mask head on)',
        );
      return { rpn, rois, mask: mask.plan(rois, targets) };
    },
    losses(images, _sizes, _targets, ctx, prepared) {
      if (!prepared)
        throw new Error(
          'Faster R-CNN: losses() needs prepareLosses() of the same batch first (proposals are picked outside the gradient tape)',
        );
      const N = images.shape[0];
      const { levels, objectness, deltas, anchors } = features(images, true, ctx);
      const A = anchors.boxes.length / 4;
      if (prepared.rpn.sampled.length !== N * A)
        throw new Error(
          `Faster R-CNN: prepareLosses() planned ${prepared.rpn.sampled.length} anchors, this batch has ${N * A}`,
        );

      // RPN
      const t = prepared.rpn;
      const rpnNorm = rc.batchSizePerImage * N;
      const rpnCls = sigmoidCrossEntropy(
        objectness,
        tf.tensor2d(t.labels, [N, A]),
        tf.tensor2d(t.sampled, [N, A]),
      );
      const rpnLoc = boxRegressionLoss(
        deltas,
        {
          deltas: tf.tensor3d(t.deltas, [N, A, 4]),
          boxes: tf.tensor3d(t.boxes, [N, A, 4]),
          refs: tf.tile(tf.tensor3d(anchors.boxes, [1, A, 4]), [N, 1, 1]),
          weights: tf.tensor3d(t.positive, [N, A, 1]),
        },
        rc.boxLoss,
        rc.smoothL1Beta,
        RPN_WEIGHTS,
      );

      // RoIs sampled by prepareLosses from the proposals of these predictions' values.
      const rois = prepared.rois;
      const real = rois.classes.length;
      const R = roiRows(real, N * hc.batchSizePerImage);
      const out = boxHead(levels, rois.boxes, rois.batchIndex, R);

      // Box head: softmax cross-entropy over K + 1, class-specific regression of foreground RoIs.
      // Padding rows (r ≥ real) have no class: zero in every target and weight below.
      const onehot = new Float32Array(R * (K + 1));
      const fgMask = new Float32Array(R * K * 4);
      const fgTargets = new Float32Array(R * K * 4);
      const fgRow = new Float32Array(R);
      rois.classes.forEach((c, r) => {
        onehot[r * (K + 1) + c] = 1;
        if (c < K) {
          fgRow[r] = 1;
          fgMask.fill(1, (r * K + c) * 4, (r * K + c) * 4 + 4);
          fgTargets.set(rois.deltas.subarray(r * 4, r * 4 + 4), (r * K + c) * 4);
        }
      });
      const denom = Math.max(real, 1);
      const cls = tf.div(
        tf.neg(tf.sum(tf.mul(tf.tensor2d(onehot, [R, K + 1]), tf.logSoftmax(out.logits)))),
        denom,
      ) as tf.Scalar;
      let box: tf.Scalar;
      if (hc.boxLoss === 'smooth-l1') {
        box = boxRegressionLoss(
          out.deltas,
          {
            deltas: tf.tensor2d(fgTargets, [R, K * 4]),
            boxes: tf.zeros([R, K * 4]),
            refs: tf.zeros([R, K * 4]),
            weights: tf.tensor2d(fgMask, [R, K * 4]),
          },
          'smooth-l1',
          hc.smoothL1Beta,
          weights,
        );
      } else {
        // The foreground class's 4 deltas per RoI (mask-and-sum: no gather on the tape).
        const mask = tf.tensor3d(fgMask, [R, K, 4]);
        const own = tf.sum(tf.mul(tf.reshape(out.deltas, [R, K, 4]), mask), 1);
        box = boxRegressionLoss(
          own,
          {
            deltas: tf.zeros([R, 4]),
            boxes: tf.tensor2d(padBoxes(rois.matchedBoxes, R), [R, 4]),
            refs: tf.tensor2d(padBoxes(rois.boxes, R), [R, 4]),
            weights: tf.tensor2d(fgRow, [R, 1]),
          },
          'giou',
          0,
          weights,
        );
      }
      const losses: Record<string, tf.Scalar> = {
        loss_rpn_cls: tf.mul(rpnCls, rc.lossWeight / rpnNorm) as tf.Scalar,
        loss_rpn_loc: tf.mul(rpnLoc, rc.lossWeight / rpnNorm) as tf.Scalar,
        loss_cls: cls,
        loss_box_reg: tf.div(box, denom) as tf.Scalar,
      };
      if (mask) {
        if (!prepared.mask) throw new Error('Mask R-CNN: prepareLosses() planned no mask targets');
        const rows = maskRows(prepared.mask.classes.length, N);
        losses.loss_mask = mask.loss(poolerOn(levels), prepared.mask, rows);
      }
      return losses;
    },
    async predict(images, sizes) {
      const N = images.shape[0];
      let anchors!: MultiLevelAnchors;
      const f = tf.tidy(() => {
        const x = features(images, false);
        anchors = x.anchors;
        return { levels: x.levels, objectness: x.objectness, deltas: x.deltas };
      });
      // The proposals need the RPN's values on the host; the levels wait on the device meanwhile
      // (until the mask branch, if any, has pooled the final boxes).
      try {
        const [objValues, deltaValues] = await takeValues([f.objectness, f.deltas]);
        const props = sizes.map((size, n) =>
          findProposals(objValues!, deltaValues!, anchors, n, size, {
            preNmsTopk: rc.preNmsTopkTest,
            postNmsTopk: rc.postNmsTopkTest,
            nmsThresh: rc.nmsThresh,
          }),
        );
        const proposals = imageMajor(props.map((p) => p.boxes));
        const rows = roiRows(proposals.batchIndex.length, N * rc.postNmsTopkTest);
        const out = tf.tidy(() => {
          const o = boxHead(f.levels, proposals.boxes, proposals.batchIndex, rows);
          return [tf.softmax(o.logits), o.deltas];
        });
        const [p, d] = (await takeValues(out)) as [Float32Array, Float32Array];
        const results: Detections[] = [];
        for (let n = 0; n < N; n++) {
          const parts: Float32Array[] = [];
          const scores: number[] = [];
          const classes: number[] = [];
          for (let r = 0; r < proposals.batchIndex.length; r++) {
            if (proposals.batchIndex[r] !== n) continue;
            const ref = proposals.boxes.subarray(r * 4, r * 4 + 4);
            for (let k = 0; k < K; k++) {
              const s = p[r * (K + 1) + k]!;
              if (!(s > hc.scoreThreshTest)) continue;
              parts.push(decodeBoxes(ref, d.subarray((r * K + k) * 4, (r * K + k) * 4 + 4), weights));
              scores.push(s);
              classes.push(k);
            }
          }
          results.push(
            finalizeDetections(
              parts,
              scores,
              classes,
              sizes[n]!,
              hc.nmsThreshTest,
              config.test.detectionsPerImage,
            ),
          );
        }
        if (mask) {
          // detectron2's mask_rcnn_inference: the mask head on the final boxes, each detection's class.
          const final = imageMajor(results.map((r) => r.boxes));
          const count = final.batchIndex.length;
          const probs = mask.predict(
            poolerOn(f.levels),
            final.boxes,
            final.batchIndex,
            Int32Array.from(results.flatMap((r) => [...r.classes])),
            roiRows(count, N * config.test.detectionsPerImage),
          );
          const [values] = (await takeValues([probs])) as [Float32Array];
          const M2 = mask.maskSize * mask.maskSize;
          let o = 0;
          for (const r of results) {
            const c = r.scores.length;
            r.maskProbs = values.slice(o * M2, (o + c) * M2);
            r.maskSize = mask.maskSize;
            o += c;
          }
        }
        return results;
      } finally {
        tf.dispose(f.levels);
      }
    },
    getState() {
      return {};
    },
    setState() {},
    dispose() {
      fpn.dispose();
      rpn.dispose();
      head.dispose();
      mask?.dispose();
      backbone.dispose();
    },
  };
}

/** Per-image boxes as one image-major list with each box's image. */
function imageMajor(perImage: Float32Array[]): { boxes: Float32Array; batchIndex: Int32Array } {
  const boxes = new Float32Array(perImage.reduce((s, b) => s + b.length, 0));
  const batchIndex = new Int32Array(boxes.length / 4);
  let o = 0;
  perImage.forEach((b, n) => {
    boxes.set(b, o * 4);
    batchIndex.fill(n, o, o + b.length / 4);
    o += b.length / 4;
  });
  return { boxes, batchIndex };
}

/** `boxes` followed by unit boxes up to `count` (padding RoIs: a real box keeps GIoU finite at weight 0). */
function padBoxes(boxes: Float32Array, count: number): Float32Array {
  if (boxes.length === count * 4) return boxes;
  const out = new Float32Array(count * 4);
  out.set(boxes);
  for (let r = boxes.length / 4; r < count; r++) out.set([0, 0, 1, 1], r * 4);
  return out;
}
