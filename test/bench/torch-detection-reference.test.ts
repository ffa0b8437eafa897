/**
 * The torchvision detection reference (bench/torch_detection_reference.py) against ours, where
 * /usr/bin/python3 has torch and torchvision (CI installs them; elsewhere this skips with one line):
 *
 * - same initial weights (exported through safetensors with torchvision's names), same batch ⇒ the
 *   same first-step losses. RetinaNet: every anchor is used, so the raw focal and box-loss sums
 *   (before each framework's own normaliser) and the foreground count must agree to float
 *   round-off. Faster R-CNN samples anchors and RoIs at random (different generators on each
 *   side), so only what the sample cannot change is tight (the RPN's positives are all sampled);
 *   the rest is bounded (see the constants).
 * - a few training steps of the reference write a detections JSON that our evaluator reads and
 *   scores with no bad entry.
 *
 * The config is the current CPU recipe of each detector (cpuFinetuneOverrides) on a small demo subset, so the check
 * follows the recipe as it is tuned.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cpuFinetuneOverrides,
  resolveFinetuneConfig,
  type FinetuneConfig,
} from '../../shared/config/finetune';
import { mergeDefaults } from '../../shared/config/validation';
import {
  initialDetector,
  runReference,
  scoreReferenceDetections,
  torchvisionMissing,
  writeCocoFolder,
  writeReferenceSpec,
} from '../../bench/detection-reference';
import { initBackend } from '../../src-main/engine/backend/select';
import { createRng } from '../../src-main/engine/data/rng';
import { loadDetectionData, type DetectionData } from '../../src-main/engine/detection/datasets';
import { makeTrainingBatch } from '../../src-main/engine/detection/inputs';
import { writeSafetensors, type SafetensorsTensor } from '../../src-main/engine/export/safetensors';
import { createBatchStatsCollector } from '../../src-main/engine/models/running-stats';
import { skipUnlessTool } from '../optional-tool';
import { removeTempDir, tempDir } from '../temp-dir';

const skipReason = skipUnlessTool({
  tool: 'PyTorch',
  tests: 'torchvision detection reference cross-check',
  missing: torchvisionMissing(),
  install: 'apt-get install python3-torch python3-torchvision (or set SELFEMD_TORCH_PYTHON)',
});

/** Float32 sums over ~10⁴ anchors in different orders: 1e-3 relative is far above round-off. */
const RAW_SUM_REL = 1e-3;
/**
 * Faster R-CNN's terms over random samples (anchors, RoIs; each side has its own generator). The
 * foreground is sampled whole on both sides when it is under its quota (asserted), so the box terms
 * are sums over the same rows; the classification terms average a different draw of background
 * rows, whose losses at init are all near ln 2 (RPN) and ln(K + 1) (RoIs). Measured on this batch:
 * 1e-4 (RPN objectness), 8e-5 (RoI cross-entropy), 4e-7 (RoI box loss); the RPN box loss differs
 * by its IoU-tie anchors (below): 8 %.
 */
const SAMPLED_REL = { loss_rpn_cls: 0.01, loss_cls: 0.01, loss_box_reg: 0.01, loss_rpn_loc: 0.15 } as const;
/** RPN positives that differ by float32 / float64 IoU ties (see the Faster R-CNN case). */
const TIED_ANCHORS = 4;

function testConfig(detector: FinetuneConfig['detector']): FinetuneConfig {
  return resolveFinetuneConfig(
    mergeDefaults(mergeDefaults(cpuFinetuneOverrides(detector), { backend: 'wasm' }), {
      detector,
      data: { demoTrain: 8, demoVal: 4 },
      optim: { epochs: 1 },
    }),
  );
}

let dir: string;
let data: DetectionData;
beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('selfemd-tvref-');
});
afterAll(() => {
  removeTempDir(dir);
});

/** Our losses on one batch (4 train images, short side 112, the 2nd and 4th flipped), and the batch file. */
async function ourFirstStep(config: FinetuneConfig): Promise<{
  losses: Record<string, number>;
  batchFile: string;
  specFile: string;
  /** Faster R-CNN: our positive RPN anchors in the batch. */
  rpnPositives?: number;
}> {
  data ??= await loadDetectionData(config);
  const coco = path.join(dir, 'coco');
  if (!fs.existsSync(path.join(coco, 'val.json'))) await writeCocoFolder(coco, data);
  const detector = await initialDetector(config, data.train.categories.length);
  try {
    const runDir = path.join(dir, config.detector);
    const specFile = await writeReferenceSpec(runDir, config, data.train, coco, detector);
    const samples = data.train.samples.slice(0, 4);
    const flips = [false, true, false, true];
    const { batch, targets } = makeTrainingBatch(samples, 112, config.data.maxSizeTrain, flips);
    const shapes = batch.sizes;
    const ctx = { onBatchStats: createBatchStatsCollector().sink, rng: createRng(1) };
    const prepared = await detector.prepareLosses?.(batch.images, batch.sizes, targets, ctx);
    const terms = detector.losses(batch.images, batch.sizes, targets, ctx, prepared);
    const rpn = (prepared as { rpn?: { positive: Float32Array } } | undefined)?.rpn;
    const rpnPositives = rpn ? rpn.positive.reduce((a, b) => a + b, 0) : undefined;
    const losses: Record<string, number> = {};
    for (const [k, v] of Object.entries(terms)) losses[k] = (await v.data())[0]!;
    tf.dispose(Object.values(terms));
    const nchw = tf.transpose(batch.images, [0, 3, 1, 2]);
    const tensors: SafetensorsTensor[] = [
      { name: 'images', dtype: 'F32', shape: nchw.shape, data: new Float32Array(await nchw.data()) },
      { name: 'sizes', dtype: 'F32', shape: [4, 2], data: Float32Array.from(shapes.flat()) },
      ...targets.boxes.map((b, n): SafetensorsTensor => ({
        name: `boxes${n}`,
        dtype: 'F32',
        shape: [b.length / 4, 4],
        data: b,
      })),
      ...targets.classes.map((c, n): SafetensorsTensor => ({
        name: `classes${n}`,
        dtype: 'F32',
        shape: [c.length],
        data: Float32Array.from(c),
      })),
    ];
    tf.dispose([nchw, batch.images]);
    const batchFile = path.join(runDir, 'batch.safetensors');
    await writeSafetensors(batchFile, tensors);
    return { losses, batchFile, specFile, rpnPositives };
  } finally {
    detector.dispose();
  }
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

describe.skipIf(Boolean(skipReason))('torchvision detection reference', () => {
  it('RetinaNet: same weights, same batch ⇒ the same focal and box-loss sums and foreground count', async () => {
    const config = testConfig('retinanet');
    const ours = await ourFirstStep(config);
    const [check] = await runReference(ours.specFile, ['--check', ours.batchFile]);
    const raw = check!.raw as { cls_sum: number; box_sum: number; num_foreground: number };
    // ours: sum / EMA normaliser, which after one step is 0.9·100 + 0.1·max(foreground, 1)
    const normalizer = 0.9 * 100 + 0.1 * Math.max(raw.num_foreground, 1);
    console.log(
      `first-step raw sums: ours cls ${ours.losses.loss_cls! * normalizer} box ${ours.losses.loss_box_reg! * normalizer}, torchvision ${JSON.stringify(raw)}`,
    );
    expect(raw.num_foreground).toBeGreaterThan(10);
    expect(raw.cls_sum).toBeGreaterThan(1);
    expect(raw.box_sum).toBeGreaterThan(0.1);
    expect(rel(ours.losses.loss_cls! * normalizer, raw.cls_sum)).toBeLessThan(RAW_SUM_REL);
    expect(rel(ours.losses.loss_box_reg! * normalizer, raw.box_sum)).toBeLessThan(RAW_SUM_REL);
  }, 600_000);

  it('Faster R-CNN: same weights, same batch ⇒ the same RPN box loss, sampled terms within their bounds', async () => {
    const config = testConfig('faster-rcnn');
    const ours = await ourFirstStep(config);
    const [check] = await runReference(ours.specFile, ['--check', ours.batchFile]);
    const theirs = check!.losses as Record<string, number>;
    console.log(
      `first-step losses: ours ${JSON.stringify(ours.losses)}, torchvision ${JSON.stringify(theirs)}`,
    );
    const raw = check!.raw as { rpn_sampled: number; rpn_positive: number; roi_positive: number };
    // Every positive anchor is sampled on both sides (fewer than batchSizePerImage · positiveFraction)
    // and the normaliser is the full sample, so the RPN box loss is a sum over the same anchors —
    // except for exact IoU ties in the low-quality matches: torchvision (as detectron2) compares IoUs
    // computed in float32, ours in float64, so anchors placed symmetrically about an object can tie
    // there and not here (measured on this batch: 42 positives there, 40 here, the two extra at IoU
    // 0.36636796 in float32, 0.3663679126 against 0.3663679604 in float64).
    expect(raw.rpn_sampled).toBe(config.rpn.batchSizePerImage * 4);
    expect(raw.rpn_positive).toBeLessThan(config.rpn.batchSizePerImage * config.rpn.positiveFraction * 4);
    expect(Math.abs(ours.rpnPositives! - raw.rpn_positive)).toBeLessThanOrEqual(TIED_ANCHORS);
    expect(rel(ours.losses.loss_rpn_loc!, theirs.loss_rpn_box_reg!)).toBeLessThan(SAMPLED_REL.loss_rpn_loc);
    expect(raw.roi_positive).toBeLessThan(
      config.roiHeads.batchSizePerImage * config.roiHeads.positiveFraction * 4,
    );
    expect(rel(ours.losses.loss_rpn_cls!, theirs.loss_objectness!)).toBeLessThan(SAMPLED_REL.loss_rpn_cls);
    expect(rel(ours.losses.loss_cls!, theirs.loss_classifier!)).toBeLessThan(SAMPLED_REL.loss_cls);
    expect(rel(ours.losses.loss_box_reg!, theirs.loss_box_reg!)).toBeLessThan(SAMPLED_REL.loss_box_reg);
  }, 600_000);

  it('a few reference steps write detections that our evaluator scores', async () => {
    const config = testConfig('faster-rcnn');
    const specFile = path.join(dir, 'faster-rcnn', 'spec.json');
    if (!fs.existsSync(specFile)) await ourFirstStep(config);
    const events = await runReference(specFile);
    const done = events.find((e) => e.event === 'done')!;
    expect(done.steps).toBe(2);
    expect(done.detections).toBeGreaterThan(0);
    const spec = JSON.parse(fs.readFileSync(specFile, 'utf8')) as { detections: string };
    const evaluation = scoreReferenceDetections(data.val, spec.detections);
    expect(evaluation.detections.length).toBe(done.detections);
    for (const s of evaluation.stats) expect(Number.isFinite(s)).toBe(true);
  }, 600_000);
});
