/**
 * Detector fine-tuning: its step and its state, run by the shared training loop
 * (train/training-loop.ts). Like pretraining it knows nothing of the store or the UI: it
 * reports through hooks, and its checkpoints carry everything a resume needs (weights, BN
 * statistics, momentum, data order, RNG state, the detector's own state), so a paused or killed
 * run continues where it stopped. Training follows detectron2: multi-scale short side and
 * horizontal flip, SGD with momentum and weight decay (none on norm γ/β), linear warm-up and step
 * decays at fixed fractions of the run (the "1×" schedule scaled to the dataset).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { plannedFinetuneSteps, QUICK_AP50_KEY, type FinetuneConfig } from '../../../shared/config/finetune';
import { createRng, type Rng, type RngState } from '../data/rng';
import { createBatchStatsCollector } from '../models/running-stats';
import { createBackbone } from '../models/registry';
import type { Backbone } from '../models/types';
import { restoreVariables, type LoadedCheckpoint, type ResumeOptions } from '../train/checkpoint';
import { applyRunningStats, batchCounts, partVariables, restoreBatchCounts } from '../train/model-parts';
import { Sgd } from '../train/sgd';
import type { TrainingHooks, TrainingResult } from '../train/training-hooks';
import { readScalars, runTrainingLoop, type LoopPosition, type TrainingTask } from '../train/training-loop';
import { keyedVariableGrads } from '../train/variable-grads';
import { initBackbone } from './backbone-init';
import type { Detector } from './detector';
import { datasetHead, evaluateDetector, type DetectionEvaluation } from './evaluate';
import { makeTrainingBatch, type DetectionCategory, type DetectionDataset } from './inputs';
import { createDetector } from './registry';
import { scaledSchedule, stepDecayLr } from './schedule';

export interface FinetuneHooks extends TrainingHooks {
  /** Each evaluation on val (every `config.eval.everyEpochs` and at the end), with the step it scored. */
  onEvaluation?: (step: number, evaluation: DetectionEvaluation) => void;
}

export const FINETUNE_CHECKPOINT_KIND = 'selfemd-finetune';

/** What a fine-tuning checkpoint carries besides tensors. */
export interface FinetuneState extends LoopPosition {
  kind: typeof FINETUNE_CHECKPOINT_KIND;
  config: FinetuneConfig;
  categories: DetectionCategory[];
  /** Data order: the epoch's permutation of the training set, and how far into it training is. */
  cursor: number;
  order: number[];
  rng: RngState;
  /** `part/bn` → count. */
  numBatchesTracked: Record<string, number>;
  detectorState: Record<string, number>;
  /** Where the backbone came from (for the record). */
  init: string;
}

export interface FinetuneResult extends TrainingResult {
  /** The last evaluation on val (always run at completion). */
  evaluation?: DetectionEvaluation;
}

export interface RunFinetuneArgs extends ResumeOptions {
  config: FinetuneConfig;
  train: DetectionDataset;
  /** Evaluated every `config.eval.everyEpochs` and at the end; omit to skip evaluation. */
  val?: DetectionDataset;
  /** The run's folder: checkpoints go to `<runDir>/checkpoints`, evaluations next to them. */
  runDir: string;
  hooks?: FinetuneHooks;
  keepCheckpoints?: number;
  /** A backbone already built (it is then owned by the run); otherwise `config.init` is loaded. */
  backbone?: Backbone;
}

export interface FinetunePlan {
  stepsPerEpoch: number;
  totalSteps: number;
}

export function planFinetune(config: FinetuneConfig, imageCount: number): FinetunePlan {
  if (imageCount < 1) throw new Error('the training set has no images');
  return plannedFinetuneSteps(config, imageCount);
}

/** Loads a fine-tuning checkpoint's weights, BN counters and state into a detector built from its config. */
export function restoreDetector(detector: Detector, loaded: LoadedCheckpoint<FinetuneState>): void {
  restoreVariables(loaded, 'model.params/', partVariables(detector.parts, 'params'));
  restoreVariables(loaded, 'model.buffers/', partVariables(detector.parts, 'buffers'));
  restoreBatchCounts(detector.parts, loaded.state.numBatchesTracked, `checkpoint ${loaded.dir}`);
  detector.setState(loaded.state.detectorState);
}

/** detectron2: weight decay on weights and biases, none (WEIGHT_DECAY_NORM = 0) on norm γ/β. */
function isNormParam(detector: Detector, key: string): boolean {
  const slash = key.indexOf('/');
  const set = detector.parts.get(key.slice(0, slash));
  const module = key.slice(slash + 1, key.lastIndexOf('.'));
  return Boolean(
    set &&
    (set.buffers.has(`${module}.running_mean`) ||
      set.buffers.has(`${module}.0.running_mean`) ||
      set.affineNorms?.has(module)),
  );
}

/** A detector with its optimizer, as a fine-tune (or a learning-rate range test) starts it. */
export interface FinetuneModel {
  detector: Detector;
  /** The variables the optimizer updates, keyed `part/name`. */
  trainable: Map<string, tf.Variable>;
  sgd: Sgd;
  /** Where the backbone came from. */
  description: string;
}

/**
 * Builds the detector on its backbone (supplied; a fresh one a resume overwrites; or loaded from
 * `config.init`) and its SGD (no weight decay on norm γ/β). The caller disposes `sgd` and `detector`.
 */
export async function createFinetuneModel(
  config: FinetuneConfig,
  numClasses: number,
  source: { backbone?: Backbone; resume?: ResumeOptions['resume'] } = {},
): Promise<FinetuneModel> {
  // A resumed run restores every weight from its checkpoint: the init source is not needed again.
  const init = source.backbone
    ? { backbone: source.backbone, description: 'backbone supplied by the caller' }
    : source.resume
      ? {
          backbone: createBackbone(config.backbone.name, {
            baseWidth: config.backbone.baseWidth,
            seed: config.seed,
          }),
          description: 'restored from the checkpoint',
        }
      : await initBackbone(config);
  const detector = createDetector(config, init.backbone, numClasses);
  const trainable = detector.trainableParams();
  const sgd = new Sgd(trainable, {
    momentum: config.optim.momentum,
    weightDecay: config.optim.weightDecay,
    decays: (name) => !isNormParam(detector, name),
  });
  return { detector, trainable, sgd, description: init.description };
}

export async function runFinetune(args: RunFinetuneArgs): Promise<FinetuneResult> {
  const { config, train, val, runDir, hooks = {} } = args;
  const plan = planFinetune(config, train.samples.length);
  if (config.detector === 'mask-rcnn' && !train.samples.some((s) => s.segmentations))
    throw new Error(
      `data.train (${config.data.train}): no instance masks — mask-rcnn trains on objects' segmentations (COCO polygons / RLE, VOC SegmentationObject, YOLO segment lines); use faster-rcnn for boxes only`,
    );

  const { detector, trainable, sgd, description } = await createFinetuneModel(
    config,
    train.categories.length,
    args,
  );
  hooks.onLog?.(`backbone: ${description}`);
  let evaluation: DetectionEvaluation | undefined;
  try {
    const task = finetuneTask({
      config,
      plan,
      train,
      detector,
      trainable,
      sgd,
      init: description,
      evaluate: val
        ? async (step) => {
            evaluation = await evaluateOnVal(detector, val, config, runDir, hooks, step);
          }
        : undefined,
      quickEvaluate:
        val && config.eval.quickImages > 0
          ? async (step) =>
              quickEvaluate(detector, datasetHead(val, config.eval.quickImages), config, hooks, step)
          : undefined,
    });
    const result = await runTrainingLoop(task, {
      runDir,
      hooks,
      resume: args.resume,
      resumeStep: args.resumeStep,
      keepCheckpoints: args.keepCheckpoints,
      checkpointEvery: config.checkpoint.everySteps,
      // Not at every epoch end as pretraining does: a small labelled set can make an epoch one step.
      checkpointAtEpochEnd: false,
    });
    return result.status === 'completed' ? { ...result, evaluation } : result;
  } finally {
    sgd.dispose();
    detector.dispose();
  }
}

interface FinetuneTaskArgs {
  config: FinetuneConfig;
  plan: FinetunePlan;
  train: DetectionDataset;
  detector: Detector;
  /** The variables the optimizer updates, keyed `part/name`. */
  trainable: Map<string, tf.Variable>;
  sgd: Sgd;
  /** Where the backbone came from, for the checkpoints. */
  init: string;
  /** Evaluates on val after the given step (omitted: no val set). */
  evaluate?: (step: number) => Promise<void>;
  /** Quick AP on a few val images after the given step (omitted: no val set or quick AP off). */
  quickEvaluate?: (step: number) => Promise<void>;
}

/** Fine-tuning as the training loop runs it: one step is one batch and one SGD update. */
function finetuneTask(args: FinetuneTaskArgs): TrainingTask<FinetuneState> {
  const { config, plan, train, detector, trainable, sgd } = args;
  const n = train.samples.length;
  const batchSize = Math.min(config.optim.batchSize, n);
  const schedule = scaledSchedule(plan.totalSteps, config.optim);
  const quickEvery = Math.max(1, Math.ceil(plan.totalSteps / config.eval.quickPerRun));
  const rng = createRng(config.seed);
  // What a resume takes from the checkpoint rather than from this start (the config is this run's).
  let recorded = { categories: train.categories, init: args.init };
  const data = { order: rng.permutation(n), cursor: 0 };
  const sgdStep = createSgdStep({ config, train, detector, trainable, sgd, rng, data, batchSize });

  return {
    totalSteps: plan.totalSteps,
    stepsPerEpoch: plan.stepsPerEpoch,

    async step(k) {
      const lr = stepDecayLr(k, schedule);
      const r = await sgdStep(lr);
      return {
        loss: r.loss,
        metrics: Number.isFinite(r.loss)
          ? [
              ...Object.entries(r.terms).map(([key, value]) => ({ key: `loss/${key}`, value })),
              { key: 'opt/lr', value: lr },
            ]
          : [],
      };
    },

    async afterStep(at) {
      if (at.step % quickEvery === 0 || at.step === plan.totalSteps) await args.quickEvaluate?.(at.step);
      const epochEnded = at.step % plan.stepsPerEpoch === 0;
      const due =
        at.step === plan.totalSteps ||
        (epochEnded && config.eval.everyEpochs > 0 && at.epoch % config.eval.everyEpochs === 0);
      if (due) await args.evaluate?.(at.step);
    },

    checkpointTensors() {
      const tensors = new Map<string, tf.Tensor>();
      for (const [k, v] of partVariables(detector.parts, 'params')) tensors.set(`model.params/${k}`, v);
      for (const [k, v] of partVariables(detector.parts, 'buffers')) tensors.set(`model.buffers/${k}`, v);
      for (const [k, v] of sgd.momentumBuffers) tensors.set(`sgd.momentum/${k}`, v);
      return tensors;
    },

    checkpointState: () => ({
      kind: FINETUNE_CHECKPOINT_KIND,
      config,
      categories: recorded.categories,
      cursor: data.cursor,
      order: data.order,
      rng: rng.getState(),
      numBatchesTracked: batchCounts(detector.parts),
      detectorState: detector.getState(),
      init: recorded.init,
    }),

    restore(loaded) {
      const state = loaded.state;
      if (state.kind !== FINETUNE_CHECKPOINT_KIND || state.config.detector !== config.detector)
        throw new Error(`checkpoint ${loaded.dir} is not from a ${config.detector} fine-tuning run`);
      restoreDetector(detector, loaded);
      restoreVariables(loaded, 'sgd.momentum/', sgd.momentumBuffers);
      recorded = { categories: state.categories, init: state.init };
      data.order = state.order;
      data.cursor = state.cursor;
      rng.setState(state.rng);
    },
  };
}

export interface SgdStepArgs {
  config: FinetuneConfig;
  train: DetectionDataset;
  detector: Detector;
  trainable: Map<string, tf.Variable>;
  sgd: Sgd;
  rng: Rng;
  /** The epoch's data order and the position in it (advanced by each step). */
  data: { order: number[]; cursor: number };
  batchSize: number;
}

/** One step's summed loss and its terms (detector loss names, e.g. `loss_cls`). */
export interface SgdStepResult {
  loss: number;
  terms: Record<string, number>;
}

/**
 * One training step at a given learning rate: the next batch (multi-scale short side, flips),
 * the detector's losses and gradients, one SGD update, the BN running statistics. A non-finite
 * loss applies nothing. Shared by the fine-tuning loop (lr from its schedule) and the learning-rate
 * range test (find-lr.ts, lr growing exponentially).
 */
export function createSgdStep(a: SgdStepArgs): (lr: number) => Promise<SgdStepResult> {
  const { config, train, detector, trainable, sgd, rng, data, batchSize } = a;
  const n = train.samples.length;
  const normDecay = config.optim.weightDecayNorm;
  const [lo, hi] = config.data.minSizeTrain;
  return async (lr) => {
    const samples = nextBatch(data, n, batchSize, rng).map((i) => train.samples[i]!);
    // One short side per batch (detectron2 samples per image, then pads; one size wastes no padding).
    const short = lo + rng.int(hi - lo + 1);
    const flips = samples.map(() => config.data.hflip && rng.next() < 0.5);
    const { batch, targets } = makeTrainingBatch(samples, short, config.data.maxSizeTrain, flips, {
      masks: config.detector === 'mask-rcnn',
    });
    const stats = createBatchStatsCollector();
    const ctx = { onBatchStats: stats.sink, rng };
    let terms: Record<string, tf.Scalar> = {};
    let computed: ReturnType<typeof keyedVariableGrads>;
    try {
      // Faster R-CNN reads its RPN's outputs (to pick proposals) here, before the synchronous tape.
      const prepared = await detector.prepareLosses?.(batch.images, batch.sizes, targets, ctx);
      computed = keyedVariableGrads(() => {
        const losses = detector.losses(batch.images, batch.sizes, targets, ctx, prepared);
        terms = Object.fromEntries(Object.entries(losses).map(([key, t]) => [key, tf.keep(t)]));
        return tf.addN(Object.values(losses)) as tf.Scalar;
      }, trainable);
    } finally {
      batch.images.dispose();
    }
    const { value, grads } = computed;
    const [total, ...termValues] = await readScalars([value, ...Object.values(terms)]);
    tf.dispose([value, ...Object.values(terms)]);
    if (!Number.isFinite(total)) {
      // Nothing applied: the loop stops on this loss.
      tf.dispose([...grads.values()]);
      stats.clear();
      return { loss: total!, terms: {} };
    }
    const update = new Map<string, tf.Tensor>();
    for (const [key, g] of grads) {
      // Norm γ/β decay at their own (default zero) rate: added here, the optimizer skips them.
      update.set(
        key,
        normDecay > 0 && isNormParam(detector, key)
          ? tf.tidy(() => tf.add(g, tf.mul(trainable.get(key)!, normDecay)))
          : g,
      );
    }
    sgd.step(update, lr);
    tf.dispose([...grads.values(), ...update.values()]);
    applyRunningStats(detector.parts, stats.records);
    stats.clear();
    return {
      loss: total!,
      terms: Object.fromEntries(Object.keys(terms).map((key, i) => [key, termValues[i]!])),
    };
  };
}

/** Scores the detector on val: reported as `val/*` metrics and onEvaluation, detections written beside the run. */
async function evaluateOnVal(
  detector: Detector,
  val: DetectionDataset,
  config: FinetuneConfig,
  runDir: string,
  hooks: FinetuneHooks,
  step: number,
): Promise<DetectionEvaluation> {
  const t0 = performance.now();
  const evaluation = await evaluateDetector(detector, val, config);
  const names = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl'];
  const now = Date.now();
  hooks.onMetrics?.([
    ...names.map((name, i) => ({ key: `val/${name}`, value: evaluation.stats[i]!, step, wallTime: now })),
    { key: 'val/voc_mAP50', value: evaluation.voc.mAP, step, wallTime: now },
    // Mask detectors: the same six for the masks (detectron2's segm/AP, …) beside the boxes'.
    ...(evaluation.segm
      ? names.map((name, i) => ({
          key: `val/segm_${name}`,
          value: evaluation.segm!.stats[i]!,
          step,
          wallTime: now,
        }))
      : []),
  ]);
  hooks.onEvaluation?.(step, evaluation);
  fs.writeFileSync(path.join(runDir, 'val_detections.json'), JSON.stringify(evaluation.detections));
  fs.writeFileSync(path.join(runDir, 'val_gt.json'), JSON.stringify(val.coco));
  hooks.onLog?.(
    `step ${step}: val AP ${(100 * evaluation.stats[0]!).toFixed(1)}, AP50 ${(100 * evaluation.stats[1]!).toFixed(1)} ` +
      (evaluation.segm
        ? `mask AP ${(100 * evaluation.segm.stats[0]!).toFixed(1)}, AP50 ${(100 * evaluation.segm.stats[1]!).toFixed(1)} `
        : '') +
      `(${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  return evaluation;
}

/** Quick AP: AP50 on a few val images, logged as a metric and a log line (cheap enough to run often). */
async function quickEvaluate(
  detector: Detector,
  head: DetectionDataset,
  config: FinetuneConfig,
  hooks: FinetuneHooks,
  step: number,
): Promise<void> {
  const t0 = performance.now();
  const { stats } = await evaluateDetector(detector, head, config);
  // COCOeval reports −1 when there is nothing to score (no ground truth in these images).
  const ap50 = Math.max(0, stats[1]!);
  hooks.onMetrics?.([{ key: QUICK_AP50_KEY, value: ap50, step, wallTime: Date.now() }]);
  hooks.onLog?.(
    `step ${step}: quick AP50 ${(100 * ap50).toFixed(1)} on ${head.samples.length} val images ` +
      `(${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
}

/** Indices of the next batch; a new seeded permutation starts each epoch (incomplete tails are dropped). */
function nextBatch(
  data: { order: number[]; cursor: number },
  n: number,
  batchSize: number,
  rng: Rng,
): number[] {
  if (data.cursor + batchSize > data.order.length) {
    data.order = rng.permutation(n);
    data.cursor = 0;
  }
  const batch = data.order.slice(data.cursor, data.cursor + batchSize);
  data.cursor += batchSize;
  return batch;
}
