/**
 * The frozen backbone's features at boxes: each image resized (short side → `size`), one eval-mode
 * forward pass, RoIAlign (engine/detection/roi-align.ts, detectron2's ROIAlignV2) of every box on
 * res4 and on res5, each averaged over its bins (one vector per box and level), L2-normalised per
 * level so both weigh the same whatever their scale, and concatenated.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../data/rng';
import { concatBoxes } from '../detection/boxes';
import { makeInputBatch, resizedShape, transformBoxes, type DetectionDataset } from '../detection/inputs';
import { planRoiAlign, roiAlign } from '../detection/roi-align';
import type { Backbone, FeatureName } from '../models/types';
import { jitterBoxes } from './box-jitter';

/** The levels pooled: res4 is what a C4 box head reads, res5 what the backbone ends with. */
export const PROBE_LEVELS: readonly FeatureName[] = ['res4', 'res5'];
/** RoIAlign bins per side before averaging (16 bilinear samples per box and level at least). */
const ROI_RESOLUTION = 4;

export interface RoiFeatureOptions {
  /** Short side the images are resized to. */
  size: number;
  /** Long side cap (detectron2's max size). */
  maxSize: number;
  /** Jittered boxes per ground-truth box (0: ground truth only). */
  jitter: number;
  /** IoU floor of a jittered box with its ground-truth box. */
  jitterMinIou: number;
  /** Images per forward pass. */
  batchSize: number;
  /** Draws the jitters (only read when jitter > 0). */
  rng: Rng;
}

export interface RoiFeatures {
  /** Row-major [count, dim]. */
  features: Float32Array;
  dim: number;
  count: number;
  /** Class index per row. */
  labels: Int32Array;
  /** 1 for a ground-truth box, 0 for a jittered one. */
  isGroundTruth: Uint8Array;
}

/** Features of every (non-crowd) box of `data`, ground truth first then its jitters, image by image. */
export async function extractRoiFeatures(
  backbone: Backbone,
  data: DetectionDataset,
  options: RoiFeatureOptions,
): Promise<RoiFeatures> {
  const chunks: Float32Array[] = [];
  const labels: number[] = [];
  const isGt: number[] = [];
  let dim = 0;
  const samples = data.samples.filter((s) => s.classes.length > 0);
  for (let start = 0; start < samples.length; start += options.batchSize) {
    const batch = samples.slice(start, start + options.batchSize);
    const shapes = batch.map((s) =>
      resizedShape(s.image.height, s.image.width, options.size, options.maxSize),
    );
    const boxes: Float32Array[] = [];
    const batchIndex: number[] = [];
    batch.forEach((s, b) => {
      const gt = transformBoxes(s.boxes, [s.image.height, s.image.width], shapes[b]!, false);
      const [h, w] = shapes[b]!;
      const jit =
        options.jitter > 0 ? jitterBoxes(gt, options.jitter, options.jitterMinIou, w, h, options.rng) : null;
      boxes.push(gt);
      for (let i = 0; i < s.classes.length; i++) {
        batchIndex.push(b);
        labels.push(s.classes[i]!);
        isGt.push(1);
      }
      if (jit) {
        boxes.push(jit);
        for (let i = 0; i < s.classes.length; i++)
          for (let j = 0; j < options.jitter; j++) {
            batchIndex.push(b);
            labels.push(s.classes[i]!);
            isGt.push(0);
          }
      }
    });
    const rois = concatBoxes(boxes);
    const input = makeInputBatch(
      batch.map((s) => s.image),
      shapes,
      batch.map(() => false),
    );
    const pooled = tf.tidy(() => {
      const maps = backbone.forward(input.images, { training: false });
      const levels = PROBE_LEVELS.map((name) => {
        const map = maps[name];
        const [n, height, width] = map.shape;
        const plan = planRoiAlign(
          rois,
          batchIndex,
          new Int32Array(batchIndex.length),
          [{ batch: n, height, width, stride: backbone.featureInfo[name].stride }],
          ROI_RESOLUTION,
          0,
        );
        const vec = tf.mean(roiAlign([map], plan), [1, 2]) as tf.Tensor2D;
        // Unit length per level (a zero vector stays zero).
        return tf.div(vec, tf.maximum(tf.norm(vec, 'euclidean', 1, true), 1e-12));
      });
      return tf.concat(levels, 1) as tf.Tensor2D;
    });
    input.images.dispose();
    dim = pooled.shape[1];
    chunks.push((await pooled.data()) as Float32Array);
    pooled.dispose();
  }
  const features = new Float32Array(labels.length * dim);
  let offset = 0;
  for (const c of chunks) {
    features.set(c, offset);
    offset += c.length;
  }
  return {
    features,
    dim,
    count: labels.length,
    labels: Int32Array.from(labels),
    isGroundTruth: Uint8Array.from(isGt),
  };
}
