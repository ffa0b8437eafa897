/**
 * The detector fine-tuning loop. Like pretraining it knows nothing of the store or the UI: it
 * reports through hooks, and its checkpoints carry everything a resume needs (weights, BN
 * statistics, momentum, data order, RNG state, the detector's own state), so a paused or killed
 * run continues where it stopped. Training follows detectron2: multi-scale short side and
 * horizontal flip, SGD with momentum and weight decay (none on norm γ/β), linear warm-up and step
 * decays at fixed fractions of the run (the "1×" schedule scaled to the dataset).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { plannedFinetuneSteps, type FinetuneConfig } from '../../../shared/config/finetune';
import { createRng, type Rng, type RngState } from '../data/rng';
import {
  createBatchStatsCollector,
  updateRunningStats,
  type BatchStatsRecord,
} from '../models/running-stats';
import { createBackbone } from '../models/registry';
import type { Backbone, ParameterSet } from '../models/types';
import {
  resumeCheckpoint,
  type ResumeOptions,
  pruneCheckpoints,
  restoreVariables,
  saveCheckpoint,
  type LoadedCheckpoint,
} from '../train/checkpoint';
import { NonFiniteLossError, reportStep, type PretrainHooks } from '../train/pretrain';
import { Sgd } from '../train/sgd';
import { initBackbone } from './backbone-init';
import type { Detector } from './detector';
import { evaluateDetector, type DetectionEvaluation } from './evaluate';
import {
  makeInputBatch,
  resizedShape,
  transformBoxes,
  type DetectionCategory,
  type DetectionDataset,
} from './inputs';
import { createDetector } from './registry';
import { scaledSchedule, stepDecayLr } from './schedule';

export interface FinetuneHooks extends PretrainHooks {
  /** Each evaluation on val (every `config.eval.everyEpochs` and at the end), with the step it scored. */
  onEvaluation?: (step: number, evaluation: DetectionEvaluation) => void;
}

export const FINETUNE_CHECKPOINT_KIND = 'selfemd-finetune';

/** What a fine-tuning checkpoint carries besides tensors. */
export interface FinetuneState {
  kind: typeof FINETUNE_CHECKPOINT_KIND;
  config: FinetuneConfig;
  categories: DetectionCategory[];
  step: number;
  epoch: number;
  cursor: number;
  order: number[];
  rng: RngState;
  /** `part/bn` → count. */
  numBatchesTracked: Record<string, number>;
  detectorState: Record<string, number>;
  /** Where the backbone came from (for the record). */
  init: string;
}

export interface FinetuneResult {
  status: 'completed' | 'paused' | 'cancelled';
  step: number;
  totalSteps: number;
  lastLoss: number;
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

/** Variables of all parts, keyed `part/name`. */
export function detectorVariables(detector: Detector, which: 'params' | 'buffers'): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const [part, set] of detector.parts) for (const [n, v] of set[which]) out.set(`${part}/${n}`, v);
  return out;
}

export function detectorBatchCounts(detector: Detector): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [part, set] of detector.parts)
    for (const [bn, n] of set.numBatchesTracked ?? []) out[`${part}/${bn}`] = n;
  return out;
}

/** Loads a fine-tuning checkpoint's weights, BN counters and state into a detector built from its config. */
export function restoreDetector(detector: Detector, loaded: LoadedCheckpoint<FinetuneState>): void {
  restoreVariables(loaded, 'model.params/', detectorVariables(detector, 'params'));
  restoreVariables(loaded, 'model.buffers/', detectorVariables(detector, 'buffers'));
  for (const [key, n] of Object.entries(loaded.state.numBatchesTracked)) {
    const slash = key.indexOf('/');
    detector.parts.get(key.slice(0, slash))?.numBatchesTracked?.set(key.slice(slash + 1), n);
  }
  detector.setState(loaded.state.detectorState);
}

/** detectron2: weight decay on weights and biases, none (WEIGHT_DECAY_NORM = 0) on norm γ/β. */
function isNormParam(detector: Detector, key: string): boolean {
  const slash = key.indexOf('/');
  const set = detector.parts.get(key.slice(0, slash));
  const module = key.slice(slash + 1, key.lastIndexOf('.'));
  return Boolean(
    set && (set.buffers.has(`${module}.running_mean`) || set.buffers.has(`${module}.0.running_mean`)),
  );
}

export async function runFinetune(args: RunFinetuneArgs): Promise<FinetuneResult> {
  const { config, train, val, runDir, hooks = {} } = args;
  const plan = planFinetune(config, train.samples.length);
  const batchSize = Math.min(config.optim.batchSize, train.samples.length);
  const schedule = scaledSchedule(plan.totalSteps, config.optim);
  const ckptRoot = path.join(runDir, 'checkpoints');
  fs.mkdirSync(ckptRoot, { recursive: true });

  // A resumed run restores every weight from its checkpoint: the init source is not needed again.
  const init = args.backbone
    ? { backbone: args.backbone, description: 'backbone supplied by the caller' }
    : args.resume
      ? {
          backbone: createBackbone(config.backbone.name, {
            baseWidth: config.backbone.baseWidth,
            seed: config.seed,
          }),
          description: 'restored from the checkpoint',
        }
      : await initBackbone(config);
  hooks.onLog?.(`backbone: ${init.description}`);
  const detector = createDetector(config, init.backbone, train.categories.length);
  const trainable = detector.trainableParams();
  const params = detectorVariables(detector, 'params');
  // In a tidy: Sgd's constructor leaves one zerosLike temporary per parameter undisposed.
  const sgd = tf.tidy(
    () =>
      new Sgd(trainable, {
        momentum: config.optim.momentum,
        weightDecay: config.optim.weightDecay,
        decays: (name) => !isNormParam(detector, name),
      }) as unknown as tf.TensorContainer,
  ) as unknown as Sgd;
  const normDecay = config.optim.weightDecayNorm;
  const keyOfTfName = new Map([...trainable].map(([k, v]) => [v.name, k]));
  const rng = createRng(config.seed);
  let state: FinetuneState = {
    kind: FINETUNE_CHECKPOINT_KIND,
    config,
    categories: train.categories,
    step: 0,
    epoch: 0,
    cursor: 0,
    order: rng.permutation(train.samples.length),
    rng: rng.getState(),
    numBatchesTracked: {},
    detectorState: detector.getState(),
    init: init.description,
  };
  let lastCheckpointStep: number | undefined;
  let evaluation: DetectionEvaluation | undefined;

  try {
    if (args.resume) {
      const loaded = resumeCheckpoint<FinetuneState>(ckptRoot, args.resumeStep, (m) => hooks.onLog?.(m));
      if (loaded.state.kind !== FINETUNE_CHECKPOINT_KIND || loaded.state.config.detector !== config.detector)
        throw new Error(`checkpoint ${loaded.dir} is not from a ${config.detector} fine-tuning run`);
      restoreDetector(detector, loaded);
      restoreVariables(loaded, 'sgd.momentum/', sgd.momentumBuffers);
      state = { ...loaded.state, config };
      rng.setState(state.rng);
      lastCheckpointStep = state.step;
      hooks.onLog?.(`resumed from step ${state.step} (${loaded.dir})`);
    }

    const writeCheckpoint = async () => {
      state.rng = rng.getState();
      state.numBatchesTracked = detectorBatchCounts(detector);
      state.detectorState = detector.getState();
      const tensors = new Map<string, tf.Tensor>();
      for (const [k, v] of params) tensors.set(`model.params/${k}`, v);
      for (const [k, v] of detectorVariables(detector, 'buffers')) tensors.set(`model.buffers/${k}`, v);
      for (const [k, v] of sgd.momentumBuffers) tensors.set(`sgd.momentum/${k}`, v);
      const saved = await saveCheckpoint(ckptRoot, state.step, tensors, state);
      pruneCheckpoints(ckptRoot, args.keepCheckpoints ?? 3);
      lastCheckpointStep = state.step;
      hooks.onCheckpoint?.({ step: state.step, epoch: state.epoch, dir: saved.dir, bytes: saved.bytes });
    };

    const runEvaluation = () => {
      if (!val) return;
      const t0 = performance.now();
      evaluation = evaluateDetector(detector, val, config);
      const names = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl'];
      const now = Date.now();
      hooks.onMetrics?.([
        ...names.map((n, i) => ({
          key: `val/${n}`,
          value: evaluation!.stats[i]!,
          step: state.step,
          wallTime: now,
        })),
        { key: 'val/voc_mAP50', value: evaluation.voc.mAP, step: state.step, wallTime: now },
      ]);
      hooks.onEvaluation?.(state.step, evaluation);
      fs.writeFileSync(path.join(runDir, 'val_detections.json'), JSON.stringify(evaluation.detections));
      fs.writeFileSync(path.join(runDir, 'val_gt.json'), JSON.stringify(val.coco));
      hooks.onLog?.(
        `step ${state.step}: val AP ${(100 * evaluation.stats[0]!).toFixed(1)}, AP50 ${(100 * evaluation.stats[1]!).toFixed(1)} ` +
          `(${((performance.now() - t0) / 1000).toFixed(1)} s)`,
      );
    };

    const varList = [...trainable.values()];
    const started = performance.now();
    const startStep = state.step;
    let lastLoss = NaN;
    const [lo, hi] = config.data.minSizeTrain;

    while (state.step < plan.totalSteps) {
      await new Promise((resolve) => setImmediate(resolve));
      const stop = hooks.shouldStop?.() ?? 'continue';
      if (stop === 'pause') {
        if (lastCheckpointStep !== state.step) await writeCheckpoint();
        return { status: 'paused', step: state.step, totalSteps: plan.totalSteps, lastLoss };
      }
      if (stop === 'cancel')
        return { status: 'cancelled', step: state.step, totalSteps: plan.totalSteps, lastLoss };

      const t0 = performance.now();
      const lr = stepDecayLr(state.step, schedule);
      const indices = nextBatch(state, train.samples.length, batchSize, rng);
      const samples = indices.map((i) => train.samples[i]!);
      // One short side per batch (detectron2 samples per image, then pads; one size wastes no padding).
      const short = lo + rng.int(hi - lo + 1);
      const shapes = samples.map((s) =>
        resizedShape(s.image.height, s.image.width, short, config.data.maxSizeTrain),
      );
      const flips = samples.map(() => config.data.hflip && rng.next() < 0.5);
      const batch = makeInputBatch(
        samples.map((s) => s.image),
        shapes,
        flips,
      );
      const targets = {
        boxes: samples.map((s, j) =>
          transformBoxes(s.boxes, [s.image.height, s.image.width], shapes[j]!, flips[j]!),
        ),
        classes: samples.map((s) => s.classes),
      };
      const stats = createBatchStatsCollector();
      let terms: Record<string, tf.Scalar> = {};
      let grads: tf.NamedTensorMap;
      let value: tf.Scalar;
      try {
        ({ value, grads } = tf.variableGrads(() => {
          const losses = detector.losses(batch.images, batch.sizes, targets, {
            onBatchStats: stats.sink,
            rng,
          });
          terms = Object.fromEntries(Object.entries(losses).map(([k, t]) => [k, tf.keep(t)]));
          return tf.addN(Object.values(losses)) as tf.Scalar;
        }, varList));
      } finally {
        batch.images.dispose();
      }
      const total = (await value.data())[0]!;
      const termValues = Object.fromEntries(Object.entries(terms).map(([k, t]) => [k, t.dataSync()[0]!]));
      tf.dispose([value, ...Object.values(terms)]);
      if (!Number.isFinite(total)) {
        tf.dispose(Object.values(grads));
        stats.clear();
        throw new NonFiniteLossError(state.step, total, lastCheckpointStep);
      }
      const byKey = new Map<string, tf.Tensor>();
      for (const [tfName, g] of Object.entries(grads)) {
        const key = keyOfTfName.get(tfName)!;
        // Norm γ/β decay at their own (default zero) rate: added here, the optimizer skips them.
        byKey.set(
          key,
          normDecay > 0 && isNormParam(detector, key)
            ? tf.tidy(() => tf.add(g, tf.mul(trainable.get(key)!, normDecay)))
            : g,
        );
      }
      sgd.step(byKey, lr);
      tf.dispose([...Object.values(grads), ...byKey.values()]);
      applyRunningStats(detector, stats.records);
      stats.clear();
      state.step += 1;
      state.epoch = Math.floor(state.step / plan.stepsPerEpoch);
      lastLoss = total;

      reportStep(
        hooks,
        [
          { key: 'loss/total', value: total },
          ...Object.entries(termValues).map(([k, v]) => ({ key: `loss/${k}`, value: v })),
          { key: 'opt/lr', value: lr },
          { key: 'perf/step_ms', value: performance.now() - t0 },
        ],
        {
          step: state.step,
          epoch: state.epoch,
          totalSteps: plan.totalSteps,
          stepsPerEpoch: plan.stepsPerEpoch,
          startStep,
          startedMs: started,
        },
      );

      const epochEnded = state.step % plan.stepsPerEpoch === 0;
      const done = state.step === plan.totalSteps;
      if (done || (epochEnded && config.eval.everyEpochs > 0 && state.epoch % config.eval.everyEpochs === 0))
        runEvaluation();
      // Not at every epoch end as pretraining does: a small labelled set can make an epoch one step.
      if (state.step % config.checkpoint.everySteps === 0 || done) await writeCheckpoint();
    }
    return { status: 'completed', step: state.step, totalSteps: plan.totalSteps, lastLoss, evaluation };
  } finally {
    sgd.dispose();
    detector.dispose();
  }
}

/** Indices of the next batch; a new seeded permutation starts each epoch (incomplete tails are dropped). */
function nextBatch(state: FinetuneState, n: number, batchSize: number, rng: Rng): number[] {
  if (state.cursor + batchSize > state.order.length) {
    state.order = rng.permutation(n);
    state.cursor = 0;
  }
  const batch = state.order.slice(state.cursor, state.cursor + batchSize);
  state.cursor += batchSize;
  return batch;
}

/** BN moments arrive keyed `part/bn`; each part updates its own running statistics. */
function applyRunningStats(detector: Detector, records: readonly BatchStatsRecord[]): void {
  const byPart = new Map<ParameterSet, BatchStatsRecord[]>();
  for (const r of records) {
    const slash = r.bnName.indexOf('/');
    const set = detector.parts.get(r.bnName.slice(0, slash));
    if (!set) throw new Error(`BN statistics for unknown part "${r.bnName}"`);
    if (!byPart.has(set)) byPart.set(set, []);
    byPart.get(set)!.push({ ...r, bnName: r.bnName.slice(slash + 1) });
  }
  for (const [set, rs] of byPart) updateRunningStats(set, rs);
}
