/**
 * The detection probe: how well a frozen backbone's features at object boxes tell the classes apart,
 * a signal that ranks backbones long before a detector fine-tune can (one eval-mode pass over a
 * small labelled set and a convex fit, seconds on CPU). Train boxes (ground truth plus jitters at
 * IoU ≥ 0.5, as a box head sees proposals) fit a linear softmax classifier; val ground-truth boxes
 * are scored by it (top-1) and by a weighted kNN on the same features. Deterministic given the seed.
 */
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../data/rng';
import type { DetectionDataset } from '../detection/inputs';
import type { Backbone } from '../models/types';
import { DEFAULT_KNN, knnPredict, type KnnOptions } from './knn';
import {
  DEFAULT_LINEAR_PROBE,
  accuracy,
  fitLinearClassifier,
  fitStandardiser,
  predictLinear,
  standardise,
  type LinearProbeOptions,
} from './linear-probe';
import { extractRoiFeatures, type RoiFeatures } from './roi-features';

export interface ProbeOptions {
  /** Short side of the probe's images (the long side is capped at 1333/800 of it, detectron2's ratio). */
  size: number;
  /** Jittered boxes per training ground-truth box. */
  jitter: number;
  jitterMinIou: number;
  /** Images per forward pass. */
  batchSize: number;
  seed: number;
  linear: LinearProbeOptions;
  knn: KnnOptions;
}

export const DEFAULT_PROBE_OPTIONS: ProbeOptions = {
  size: 96,
  jitter: 4,
  jitterMinIou: 0.5,
  batchSize: 8,
  seed: 0,
  linear: DEFAULT_LINEAR_PROBE,
  knn: DEFAULT_KNN,
};

export interface ProbeScores {
  /** Top-1 of the linear classifier on val ground-truth boxes. */
  linearTop1: number;
  /** Top-1 of the kNN vote (training ground-truth boxes as the bank) on val ground-truth boxes. */
  knnTop1: number;
  /** Top-1 of always answering the training set's most frequent class: the floor to beat. */
  majorityTop1: number;
}

export interface ProbeResult extends ProbeScores {
  classes: number;
  trainBoxes: number;
  /** Training rows with the jitters. */
  trainSamples: number;
  valBoxes: number;
  featureDim: number;
  seconds: number;
}

/** Per val box (in the val features' row order), whether each classifier named its class. */
export interface ProbeBoxOutcomes {
  linearCorrect: Uint8Array;
  knnCorrect: Uint8Array;
}

/** Scores fixed features: what the probe does once the backbone has spoken (tests call it directly). */
export async function scoreFeatures(
  train: RoiFeatures,
  val: RoiFeatures,
  classes: number,
  options: Pick<ProbeOptions, 'linear' | 'knn'> = DEFAULT_PROBE_OPTIONS,
): Promise<ProbeScores> {
  return (await scoreFeaturesPerBox(train, val, classes, options)).scores;
}

/** scoreFeatures with each val box's outcome: a study resamples val images and recounts from them. */
export async function scoreFeaturesPerBox(
  train: RoiFeatures,
  val: RoiFeatures,
  classes: number,
  options: Pick<ProbeOptions, 'linear' | 'knn'> = DEFAULT_PROBE_OPTIONS,
): Promise<{ scores: ProbeScores; boxes: ProbeBoxOutcomes }> {
  if (train.count === 0) throw new Error('probe: the training set has no boxes');
  if (val.count === 0) throw new Error('probe: the val set has no boxes');
  if (train.dim !== val.dim) throw new Error(`probe: train features are ${train.dim}-d, val ${val.dim}-d`);
  const xTrain = tf.tensor2d(train.features, [train.count, train.dim]);
  const xVal = tf.tensor2d(val.features, [val.count, val.dim]);
  const scaler = fitStandardiser(xTrain);
  const zTrain = standardise(scaler, xTrain);
  const zVal = standardise(scaler, xVal);
  tf.dispose([xTrain, xVal, scaler.mean, scaler.std]);
  try {
    const w = await fitLinearClassifier(zTrain, train.labels, classes, options.linear);
    const linear = await predictLinear(w, zVal);
    w.dispose();
    // The kNN bank is the ground-truth boxes (jitters would let one object cast several votes).
    const gt = [...train.isGroundTruth.keys()].filter((i) => train.isGroundTruth[i] === 1);
    const rows = Int32Array.from(gt.length ? gt : train.labels.keys());
    // In a tidy: the index tensor the op makes from the array is released with it.
    const bank = tf.tidy(() => tf.gather(zTrain, tf.tensor1d(rows, 'int32')));
    const bankLabels = rows.map((i) => train.labels[i]!);
    const knn = await knnPredict(bank, bankLabels, zVal, classes, options.knn);
    bank.dispose();
    const counts = new Array<number>(classes).fill(0);
    for (const c of train.labels) counts[c]!++;
    const majority = counts.indexOf(Math.max(...counts));
    const correct = (p: Int32Array) => val.labels.map((c, i) => (p[i] === c ? 1 : 0));
    return {
      scores: {
        linearTop1: accuracy(linear, val.labels),
        knnTop1: accuracy(knn, val.labels),
        majorityTop1: accuracy(new Int32Array(val.count).fill(majority), val.labels),
      },
      boxes: { linearCorrect: Uint8Array.from(correct(linear)), knnCorrect: Uint8Array.from(correct(knn)) },
    };
  } finally {
    tf.dispose([zTrain, zVal]);
  }
}

/** Probes `backbone` (frozen: eval-mode BN, no gradients) on labelled train and val sets with one label set. */
export async function runProbe(
  backbone: Backbone,
  train: DetectionDataset,
  val: DetectionDataset,
  options: ProbeOptions = DEFAULT_PROBE_OPTIONS,
): Promise<ProbeResult> {
  return (await runProbePerBox(backbone, train, val, options)).result;
}

/** runProbe with each val box's outcome and the id of the val image it is in (row order). */
export async function runProbePerBox(
  backbone: Backbone,
  train: DetectionDataset,
  val: DetectionDataset,
  options: ProbeOptions = DEFAULT_PROBE_OPTIONS,
): Promise<{ result: ProbeResult; boxes: ProbeBoxOutcomes & { imageIds: Int32Array } }> {
  const t0 = performance.now();
  const names = (d: DetectionDataset) => d.categories.map((c) => `${c.id}:${c.name}`).join(',');
  if (names(train) !== names(val))
    throw new Error(
      `probe: the val set's categories (${names(val)}) differ from the train set's (${names(train)})`,
    );
  const classes = train.categories.length;
  if (classes < 2)
    throw new Error(
      `probe: the train set has ${classes} categor${classes === 1 ? 'y' : 'ies'}; a classifier needs 2 or more`,
    );
  const base = {
    size: options.size,
    maxSize: Math.round((options.size * 1333) / 800),
    batchSize: options.batchSize,
  };
  const rng = createRng(options.seed);
  const trainFeatures = await extractRoiFeatures(backbone, train, {
    ...base,
    jitter: options.jitter,
    jitterMinIou: options.jitterMinIou,
    rng,
  });
  const valFeatures = await extractRoiFeatures(backbone, val, { ...base, jitter: 0, jitterMinIou: 1, rng });
  const { scores, boxes } = await scoreFeaturesPerBox(trainFeatures, valFeatures, classes, options);
  // extractRoiFeatures' row order without jitters: each image with boxes, its boxes in order.
  const imageIds = Int32Array.from(val.samples.flatMap((s) => Array.from(s.classes, () => s.imageId)));
  if (imageIds.length !== valFeatures.count)
    throw new Error(`probe: ${valFeatures.count} val rows for ${imageIds.length} val boxes`);
  return {
    result: {
      ...scores,
      classes,
      trainBoxes: trainFeatures.isGroundTruth.reduce((s, v) => s + v, 0),
      trainSamples: trainFeatures.count,
      valBoxes: valFeatures.count,
      featureDim: trainFeatures.dim,
      seconds: (performance.now() - t0) / 1000,
    },
    boxes: { ...boxes, imageIds },
  };
}
