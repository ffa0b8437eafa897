/**
 * The instruments behind docs/detection.md's diagnosis, for the CPU preset under JSON overrides on
 * the demo train split: (1) RetinaNet anchor matching at the smallest and largest training short
 * side — positive anchors per image and per object, and the distribution of each object's best
 * anchor IoU; (2) at init, the loss terms of one batch of 4 and ‖grad‖ / ‖w‖ of representative
 * parameters (the head's, the FPN's, the first and last backbone convs).
 *
 *   npx tsx bench/detection-diagnose.ts '{"retinanet":{"anchorSizes":[8,16,32,64,128]}}'
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src-main/engine/backend/select';
import { createRng } from '../src-main/engine/data/rng';
import { multiLevelAnchors } from '../src-main/engine/detection/anchors';
import { pairwiseIou } from '../src-main/engine/detection/boxes';
import { loadDetectionData } from '../src-main/engine/detection/datasets';
import { makeInputBatch, resizedShape, transformBoxes } from '../src-main/engine/detection/inputs';
import { createDetector } from '../src-main/engine/detection/registry';
import { retinaNetTargets } from '../src-main/engine/detection/retinanet/targets';
import { createBackbone } from '../src-main/engine/models/registry';
import { cpuRecipeConfig } from './cpu-recipe-config';

const overrides = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const config = cpuRecipeConfig(overrides);
await initBackend(config.backend);
const { train } = await loadDetectionData(config);
const K = train.categories.length;
const quantiles = (a: number[], ps: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return ps.map((p) => s[Math.floor(p * (s.length - 1))]!.toFixed(2)).join(' ');
};

// (1) anchor matching
const rc = config.retinanet;
const strides = [8, 16, 32, 64, 128];
const specs = strides.map((stride, i) => ({
  stride,
  sizes: rc.anchorScales.map((s) => rc.anchorSizes[i]! * s),
  ratios: rc.anchorRatios,
}));
for (const short of new Set(config.data.minSizeTrain)) {
  let positives = 0;
  let objects = 0;
  const best: number[] = [];
  for (const s of train.samples) {
    const shape = resizedShape(s.image.height, s.image.width, short, config.data.maxSizeTrain);
    const padded = shape.map((v) => Math.ceil(v / 32) * 32);
    const anchors = multiLevelAnchors(
      specs,
      strides.map((st) => [Math.ceil(padded[0]! / st), Math.ceil(padded[1]! / st)]),
    );
    const boxes = transformBoxes(s.boxes, [s.image.height, s.image.width], shape, false);
    const t = retinaNetTargets(
      anchors.boxes,
      [boxes],
      [s.classes],
      K,
      rc.iouThresholds,
      rc.allowLowQualityMatches,
      [1, 1, 1, 1],
    );
    positives += t.numForeground;
    objects += s.classes.length;
    const n = anchors.boxes.length / 4;
    const iou = pairwiseIou(boxes, anchors.boxes);
    for (let g = 0; g < s.classes.length; g++) {
      let m = 0;
      for (let j = 0; j < n; j++) m = Math.max(m, iou[g * n + j]!);
      best.push(m);
    }
  }
  console.log(
    `short side ${short}: ${(positives / train.samples.length).toFixed(1)} positive anchors/image, ${(positives / objects).toFixed(2)}/object; ` +
      `best anchor IoU per object (0/10/25/50/75 %): ${quantiles(best, [0, 0.1, 0.25, 0.5, 0.75])}; ` +
      `below ${rc.iouThresholds[1]}: ${((100 * best.filter((v) => v < rc.iouThresholds[1]).length) / best.length).toFixed(0)} %`,
  );
}

// (2) gradients at init
const detector = createDetector(
  config,
  createBackbone(config.backbone.name, { baseWidth: config.backbone.baseWidth, seed: config.seed }),
  K,
);
const samples = train.samples.slice(0, 4);
const size = config.data.minSizeTrain[1];
const batch = makeInputBatch(
  samples.map((s) => s.image),
  samples.map(() => [size, size]),
  samples.map(() => false),
);
const targets = {
  boxes: samples.map((s) => transformBoxes(s.boxes, [s.image.height, s.image.width], [size, size], false)),
  classes: samples.map((s) => s.classes),
};
const trainable = detector.trainableParams();
const keyOf = new Map([...trainable].map(([k, v]) => [v.name, k]));
const ctx = { onBatchStats: () => {}, rng: createRng(0) };
// Faster R-CNN reads its proposals before the tape (Detector.prepareLosses).
const prepared = await detector.prepareLosses?.(batch.images, batch.sizes, targets, ctx);
const { grads } = tf.variableGrads(() => {
  const terms = detector.losses(batch.images, batch.sizes, targets, ctx, prepared);
  console.log(
    Object.entries(terms)
      .map(([k, v]) => `${k} ${v.dataSync()[0]!.toFixed(4)}`)
      .join(', '),
  );
  return tf.addN(Object.values(terms)) as tf.Scalar;
}, [...trainable.values()]);
const shown = /^(head|rpn|roi_heads|fpn)\/.*weight$|^backbone\/(conv1|layer4\.1\.conv2)\.weight$/;
for (const [name, g] of Object.entries(grads)) {
  const key = keyOf.get(name)!;
  if (!shown.test(key) || key.includes('norm')) continue;
  const ratio = tf.tidy(() => tf.div(tf.norm(g), tf.norm(trainable.get(key)!)).dataSync()[0]!);
  console.log(`${key.padEnd(44)} |grad|/|w| ${ratio.toExponential(2)}`);
}
tf.dispose([batch.images, ...Object.values(grads)]);
detector.dispose();
