/**
 * The pretraining loop (BYOL / Self-EMD). Knows nothing of the store or the UI: it reports through
 * hooks, and everything it needs to continue lives in its checkpoints, so a killed run resumes
 * bit-for-bit (weights, momentum, EMA target, BN statistics, data order and RNG state).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { spcLevels, type PretrainConfig } from '../../../shared/config/pretrain';
import { createRng } from '../data/rng';
import type { RawImage } from '../data/raw-image';
import { createPretrainLoader, type LoaderState, type PretrainLoader } from '../data/loader';
import { pretrainViewSpecs } from '../data/pretrain-data';
import { createBatchStatsCollector, updateRunningStats } from '../models/running-stats';
import { copyInto, emaUpdate } from '../ssl/ema';
import {
  createEncoder,
  disposeEncoder,
  encoderVariables,
  partOf,
  sharedWithTarget,
  type Encoder,
} from '../ssl/networks';
import { pretrainLoss, targetForward, type Views } from '../ssl/objective';
import {
  loadCheckpoint,
  resumeCheckpoint,
  type ResumeOptions,
  pruneCheckpoints,
  restoreVariables,
  saveCheckpoint,
} from './checkpoint';
import { byolTau, warmupCosineLr } from './schedules';
import { decayOnlyMatrices, Sgd } from './sgd';

export interface MetricSample {
  key: string;
  step: number;
  value: number;
  wallTime: number;
}

export interface ProgressInfo {
  step: number;
  totalSteps: number;
  epoch: number;
  stepsPerEpoch: number;
  secondsPerStep: number;
  etaSeconds: number;
}

export type StopRequest = 'continue' | 'pause' | 'cancel';

export interface PretrainHooks {
  onMetrics?(points: MetricSample[]): void;
  onProgress?(progress: ProgressInfo): void;
  onCheckpoint?(info: { step: number; epoch: number; dir: string; bytes: number }): void;
  onLog?(message: string): void;
  /** Polled between optimizer steps. `pause` writes a checkpoint first, `cancel` does not. */
  shouldStop?(): StopRequest;
}

/** Where a training loop stands after an optimizer step, for reportStep. */
export interface StepPosition {
  step: number;
  epoch: number;
  totalSteps: number;
  stepsPerEpoch: number;
  /** The step this process started (or resumed) at, and when (performance.now()). */
  startStep: number;
  startedMs: number;
}

/**
 * Reports one finished optimizer step of a training loop (pretraining, detector fine-tuning): its
 * metrics, stamped with the step and one wall time, then progress with an ETA from the mean step
 * time since this process started or resumed the run.
 */
export function reportStep(
  hooks: Pick<PretrainHooks, 'onMetrics' | 'onProgress'>,
  metrics: { key: string; value: number }[],
  at: StepPosition,
): void {
  const now = Date.now();
  hooks.onMetrics?.(metrics.map((p) => ({ ...p, step: at.step, wallTime: now })));
  const secondsPerStep = (performance.now() - at.startedMs) / 1000 / (at.step - at.startStep);
  hooks.onProgress?.({
    step: at.step,
    totalSteps: at.totalSteps,
    epoch: at.epoch,
    stepsPerEpoch: at.stepsPerEpoch,
    secondsPerStep,
    etaSeconds: secondsPerStep * (at.totalSteps - at.step),
  });
}

export interface PretrainResult {
  status: 'completed' | 'paused' | 'cancelled';
  step: number;
  totalSteps: number;
  lastLoss: number;
}

export class NonFiniteLossError extends Error {
  constructor(
    readonly step: number,
    readonly value: number,
    readonly lastCheckpointStep: number | undefined,
  ) {
    super(
      `loss became ${value} at step ${step}; training stopped. ` +
        (lastCheckpointStep !== undefined
          ? `The last good checkpoint (step ${lastCheckpointStep}) is kept: resume from it with a lower learning rate.`
          : 'No checkpoint was written yet: lower the learning rate and start again.'),
    );
    this.name = 'NonFiniteLossError';
  }
}

/** What a checkpoint carries besides tensors. */
interface TrainState {
  step: number;
  epoch: number;
  /** Data order and augmentation RNG after the last batch trained on. */
  loader: LoaderState;
  numBatchesTracked: Record<string, number>;
  method: string;
  backbone: string;
}

export interface PretrainPlan {
  stepsPerEpoch: number;
  totalSteps: number;
  warmupSteps: number;
}

export function planSteps(config: PretrainConfig, imageCount: number): PretrainPlan {
  const perStep = config.optim.batchSize * config.optim.accumulate;
  if (imageCount < config.optim.batchSize)
    throw new Error(
      `the dataset has ${imageCount} usable image(s), fewer than one batch (optim.batchSize = ${config.optim.batchSize})`,
    );
  const stepsPerEpoch = Math.max(1, Math.floor(imageCount / perStep));
  return {
    stepsPerEpoch,
    totalSteps: Math.max(1, Math.round(config.optim.epochs * stepsPerEpoch)),
    warmupSteps: Math.round(config.optim.warmupEpochs * stepsPerEpoch),
  };
}

/** What one micro-batch gives: the losses, and the gradients by key (none when the loss is not finite). */
export interface MicroBatchResult {
  total: number;
  global: number;
  emd: number;
  collapse: number;
  grads?: Map<string, tf.Tensor>;
}

/**
 * Everything of a run that lives in memory: the two encoders, their variables, the optimizer; and
 * the step itself (forwardBackward per micro-batch, then update), which `npm run bench` times too.
 */
export class PretrainModel {
  readonly online: Encoder;
  readonly target: Encoder;
  readonly onlineParams: Map<string, tf.Variable>;
  readonly onlineBuffers: Map<string, tf.Variable>;
  readonly targetParams: Map<string, tf.Variable>;
  readonly targetBuffers: Map<string, tf.Variable>;
  readonly sgd: Sgd;
  /** tf variable name → our key, to read tf.variableGrads' result. */
  private readonly keyOfTfName = new Map<string, string>();
  private readonly varList: tf.Variable[];

  constructor(readonly config: PretrainConfig) {
    const seed = config.seed * 7919 + 17;
    this.online = createEncoder(config, 'online', seed);
    this.target = createEncoder(config, 'target', seed);
    this.onlineParams = encoderVariables(this.online, 'params');
    this.onlineBuffers = encoderVariables(this.online, 'buffers');
    this.targetParams = encoderVariables(this.target, 'params');
    this.targetBuffers = encoderVariables(this.target, 'buffers');
    copyInto(this.targetParams, this.onlineParams);
    copyInto(this.targetBuffers, this.onlineBuffers);
    for (const [k, v] of this.onlineParams) this.keyOfTfName.set(v.name, k);
    this.varList = [...this.onlineParams.values()];
    this.sgd = new Sgd(this.onlineParams, {
      momentum: config.optim.momentum,
      weightDecay: config.optim.weightDecay,
      decays: decayOnlyMatrices(this.onlineParams),
    });
  }

  /**
   * One micro-batch: target forward (outside the tape), online forward and loss under
   * tf.variableGrads, then the BN running statistics. With a non-finite loss nothing is applied and
   * no gradients are returned.
   */
  async forwardBackward(views: Views): Promise<MicroBatchResult> {
    const targetOut = targetForward(this.target, views, this.config);
    const stats = createBatchStatsCollector();
    let kept: tf.Scalar[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const terms = pretrainLoss(this.config, this.online, views, targetOut, stats.sink);
      kept = [terms.global, terms.emd ?? tf.scalar(0), terms.collapseStd].map((t) => tf.keep(t));
      return terms.total;
    }, this.varList);
    const [total, global, emd, collapse] = await Promise.all(
      [value, ...kept].map(async (t) => (await t.data())[0]),
    );
    tf.dispose([value, ...kept, ...Object.values(targetOut).flat()].filter(Boolean) as tf.Tensor[]);
    if (!Number.isFinite(total)) {
      tf.dispose(Object.values(grads));
      stats.clear();
      return { total, global, emd, collapse };
    }
    applyRunningStats(this.online, stats.records);
    stats.clear();
    return { total, global, emd, collapse, grads: this.gradsByKey(grads) };
  }

  /** SGD on the (accumulated) gradients, which it disposes, then the EMA of the target. */
  update(grads: Map<string, tf.Tensor>, lr: number, tau: number): void {
    this.sgd.step(grads, lr);
    tf.dispose([...grads.values()]);
    emaUpdate(this.targetParams, sharedWithTarget(this.onlineParams, this.targetParams), tau);
    emaUpdate(this.targetBuffers, sharedWithTarget(this.onlineBuffers, this.targetBuffers), tau);
  }

  gradsByKey(grads: tf.NamedTensorMap): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [tfName, g] of Object.entries(grads)) out.set(this.keyOfTfName.get(tfName)!, g);
    return out;
  }

  checkpointTensors(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    const add = (prefix: string, m: Map<string, tf.Variable>) => {
      for (const [k, v] of m) out.set(prefix + k, v);
    };
    add('online.params/', this.onlineParams);
    add('online.buffers/', this.onlineBuffers);
    add('target.params/', this.targetParams);
    add('target.buffers/', this.targetBuffers);
    add('sgd.momentum/', this.sgd.momentumBuffers);
    return out;
  }

  restore(loaded: ReturnType<typeof loadCheckpoint<TrainState>>): void {
    restoreVariables(loaded, 'online.params/', this.onlineParams);
    restoreVariables(loaded, 'online.buffers/', this.onlineBuffers);
    restoreVariables(loaded, 'target.params/', this.targetParams);
    restoreVariables(loaded, 'target.buffers/', this.targetBuffers);
    restoreVariables(loaded, 'sgd.momentum/', this.sgd.momentumBuffers);
    for (const [key, n] of Object.entries(loaded.state.numBatchesTracked)) {
      const { set, name } = partOf(this.online, key);
      (set as unknown as { numBatchesTracked: Map<string, number> }).numBatchesTracked.set(name, n);
    }
  }

  numBatchesTracked(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const part of ['backbone', 'projector', 'predictor', 'denseProjector', 'densePredictor'] as const) {
      const set = this.online[part] as unknown as { numBatchesTracked?: Map<string, number> } | undefined;
      for (const [bn, n] of set?.numBatchesTracked ?? []) out[`${part}/${bn}`] = n;
    }
    return out;
  }

  dispose(): void {
    disposeEncoder(this.online);
    disposeEncoder(this.target);
    this.sgd.dispose();
  }
}

export interface RunPretrainingArgs extends ResumeOptions {
  config: PretrainConfig;
  images: RawImage[];
  /** The run's folder: checkpoints go to `<runDir>/checkpoints`. */
  runDir: string;
  hooks?: PretrainHooks;
  /** Checkpoints kept on disk (newest). */
  keepCheckpoints?: number;
  /**
   * `worker` renders the next batch's views in a worker thread while this one trains (default);
   * `none` renders them in-process. Both give bit-identical batches.
   */
  prefetch?: 'worker' | 'none';
}

export async function runPretraining(args: RunPretrainingArgs): Promise<PretrainResult> {
  const { config, images, runDir, hooks = {} } = args;
  const plan = planSteps(config, images.length);
  const ckptRoot = path.join(runDir, 'checkpoints');
  fs.mkdirSync(ckptRoot, { recursive: true });
  const model = new PretrainModel(config);
  const loader: PretrainLoader = createPretrainLoader({
    images,
    batchSize: config.optim.batchSize,
    rng: createRng(config.seed),
    viewSpecs: pretrainViewSpecs(config),
    prefetch: args.prefetch ?? 'worker',
  });
  let state: TrainState = {
    step: 0,
    epoch: 0,
    loader: loader.getState(),
    numBatchesTracked: {},
    method: config.method,
    backbone: config.backbone.name,
  };
  let lastCheckpointStep: number | undefined;

  try {
    const spc =
      config.method === 'self-emd' && config.emd.spc
        ? spcLevels(config.data.imageSize, config.emd.spcGrids)
        : null;
    if (spc?.note) hooks.onLog?.(`spatial pyramid crops: ${spc.note}`);
    if (args.resume) {
      const loaded = resumeCheckpoint<TrainState>(ckptRoot, args.resumeStep, (m) => hooks.onLog?.(m));
      if (loaded.state.method !== config.method || loaded.state.backbone !== config.backbone.name)
        throw new Error(
          `checkpoint ${loaded.dir} is from a ${loaded.state.method}/${loaded.state.backbone} run, not this config`,
        );
      model.restore(loaded);
      state = loaded.state;
      loader.setState(state.loader);
      lastCheckpointStep = state.step;
      hooks.onLog?.(`resumed from step ${state.step} (${loaded.dir})`);
    }

    const writeCheckpoint = async () => {
      state.numBatchesTracked = model.numBatchesTracked();
      const saved = await saveCheckpoint(ckptRoot, state.step, model.checkpointTensors(), state);
      pruneCheckpoints(ckptRoot, args.keepCheckpoints ?? 3);
      lastCheckpointStep = state.step;
      hooks.onCheckpoint?.({ step: state.step, epoch: state.epoch, dir: saved.dir, bytes: saved.bytes });
    };

    const started = performance.now();
    const startStep = state.step;
    let lastLoss = NaN;

    while (state.step < plan.totalSteps) {
      // Awaiting tensor data only yields to microtasks: let IPC messages (pause, cancel) arrive.
      await new Promise((resolve) => setImmediate(resolve));
      const stop = hooks.shouldStop?.() ?? 'continue';
      if (stop === 'pause') {
        if (lastCheckpointStep !== state.step) await writeCheckpoint();
        return { status: 'paused', step: state.step, totalSteps: plan.totalSteps, lastLoss };
      }
      if (stop === 'cancel')
        return { status: 'cancelled', step: state.step, totalSteps: plan.totalSteps, lastLoss };

      const t0 = performance.now();
      const k = state.step;
      const lr = warmupCosineLr(k, config.optim.lr, plan.warmupSteps, plan.totalSteps);
      const tau = byolTau(k, plan.totalSteps, config.byol.tauBase);
      let sums = { total: 0, global: 0, emd: 0, collapse: 0 };
      let dataWaitMs = 0;
      let accumulated: Map<string, tf.Tensor> | undefined;

      for (let micro = 0; micro < config.optim.accumulate; micro++) {
        const waitStart = performance.now();
        const batch = await loader.next();
        dataWaitMs += performance.now() - waitStart;
        const views: Views = {
          v1: batch.views[0].pixels,
          v2: batch.views[1].pixels,
          small: batch.views[2]?.pixels,
        };
        const out = await model.forwardBackward(views);
        batch.dispose();
        state.loader = batch.stateAfter;
        if (!out.grads) {
          if (accumulated) tf.dispose([...accumulated.values()]);
          throw new NonFiniteLossError(k, out.total, lastCheckpointStep);
        }
        sums = {
          total: sums.total + out.total,
          global: sums.global + out.global,
          emd: sums.emd + out.emd,
          collapse: sums.collapse + out.collapse,
        };
        if (!accumulated) accumulated = out.grads;
        else {
          for (const [name, g] of out.grads) {
            const prev = accumulated.get(name)!;
            accumulated.set(name, tf.add(prev, g));
            tf.dispose([prev, g]);
          }
        }
      }

      const scale = 1 / config.optim.accumulate;
      if (scale !== 1) {
        for (const [name, g] of accumulated!) {
          accumulated!.set(name, tf.mul(g, scale));
          g.dispose();
        }
      }
      model.update(accumulated!, lr, tau);
      state.step += 1;
      state.epoch = Math.floor(state.step / plan.stepsPerEpoch);
      lastLoss = sums.total * scale;

      const stepMs = performance.now() - t0;
      reportStep(
        hooks,
        [
          { key: 'loss/total', value: lastLoss },
          { key: 'loss/global', value: sums.global * scale },
          ...(config.method === 'self-emd' ? [{ key: 'loss/emd', value: sums.emd * scale }] : []),
          { key: 'opt/lr', value: lr },
          { key: 'opt/tau', value: tau },
          { key: 'monitor/collapse_std', value: sums.collapse * scale },
          { key: 'perf/step_ms', value: stepMs },
          // Time the step spent waiting for its batch: ~0 when prefetching keeps up with training.
          { key: 'perf/data_wait_ms', value: dataWaitMs },
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
      if (state.step % config.checkpoint.everySteps === 0 || epochEnded || state.step === plan.totalSteps)
        await writeCheckpoint();
    }
    return { status: 'completed', step: state.step, totalSteps: plan.totalSteps, lastLoss };
  } finally {
    model.dispose();
    await loader.close();
  }
}

/** BN moments were reported as `part/bn`; route each to its part's running statistics. */
function applyRunningStats(
  enc: Encoder,
  records: ReturnType<typeof createBatchStatsCollector>['records'],
): void {
  const byPart = new Map<string, typeof records>();
  for (const r of records) {
    const { name } = partOf(enc, r.bnName);
    const part = r.bnName.slice(0, r.bnName.indexOf('/'));
    if (!byPart.has(part)) byPart.set(part, []);
    byPart.get(part)!.push({ ...r, bnName: name });
  }
  for (const [part, rs] of byPart) updateRunningStats(partOf(enc, `${part}/x`).set, rs);
}
