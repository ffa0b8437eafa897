/**
 * Pretraining (BYOL / Self-EMD / MoCo v2 / SimCLR): the model, its step, and its state, run by the shared training loop
 * (training-loop.ts). Knows nothing of the store or the UI: it reports through hooks, and everything
 * it needs to continue lives in its checkpoints, so a killed run resumes bit-for-bit (weights,
 * momentum, EMA target, BN statistics, data order and RNG state, MoCo's queue and its pointer).
 *
 * Every method has a target encoder: BYOL's and Self-EMD's EMA target, MoCo's momentum key encoder,
 * and for SimCLR (which has none) a copy of the online encoder made at each update (τ = 0), never
 * run, so that checkpoints, export and the transport view read every run the same way.
 */
import * as tf from '@tensorflow/tfjs';
import {
  plannedPretrainSteps,
  projectionHead,
  spcLevels,
  type PretrainConfig,
  type PretrainStepPlan,
  mocoQueueNote,
} from '../../../shared/config/pretrain';
import { createRng } from '../data/rng';
import type { RawImage } from '../data/raw-image';
import { createPretrainLoader, type LoaderState, type PretrainLoader } from '../data/loader';
import { pretrainViewSpecs } from '../data/pretrain-data';
import { createBatchStatsCollector } from '../models/running-stats';
import { createPretrainProbe } from '../probe/pretrain-probe';
import { copyInto, emaUpdate } from '../ssl/ema';
import { NegativeQueue } from '../ssl/negative-queue';
import {
  createEncoder,
  disposeEncoder,
  encoderVariables,
  parts as encoderParts,
  sharedWithTarget,
  type Encoder,
} from '../ssl/networks';
import { pretrainLoss, targetForward, type Views } from '../ssl/objective';
import { restoreVariables, type LoadedCheckpoint, type ResumeOptions } from './checkpoint';
import { applyRunningStats, batchCounts, restoreBatchCounts, type ModelParts } from './model-parts';
import { byolTau, warmupCosineLr } from './schedules';
import { decayOnlyMatrices, Sgd } from './sgd';
import type { TrainingHooks, TrainingResult } from './training-hooks';
import { readScalars, runTrainingLoop, type LoopPosition, type TrainingTask } from './training-loop';
import { keyedVariableGrads } from './variable-grads';

/** What a pretraining checkpoint carries besides tensors. */
interface PretrainState extends LoopPosition {
  /** Data order and augmentation RNG after the last batch trained on. */
  loader: LoaderState;
  numBatchesTracked: Record<string, number>;
  method: string;
  backbone: string;
  /** MoCo's queue write pointer (its rows are the `moco.queue` tensor). */
  queuePointer?: number;
}

/** The target's momentum at step k: BYOL's cosine rise, MoCo's constant m, 0 (a copy) for SimCLR. */
export function targetMomentum(config: PretrainConfig, k: number, totalSteps: number): number {
  if (config.method === 'moco-v2') return config.moco.momentum;
  if (config.method === 'simclr') return 0;
  return byolTau(k, totalSteps, config.byol.tauBase);
}

const QUEUE_KEY = 'queue';

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
  /** MoCo v2's negatives (moco-v2 only). */
  readonly queue?: NegativeQueue;
  /** The online encoder's parts, which BN statistics and their counters are keyed by. */
  private readonly onlineParts: ModelParts;

  constructor(readonly config: PretrainConfig) {
    const seed = config.seed * 7919 + 17;
    this.online = createEncoder(config, 'online', seed);
    this.target = createEncoder(config, 'target', seed);
    this.onlineParts = new Map(encoderParts(this.online));
    this.onlineParams = encoderVariables(this.online, 'params');
    this.onlineBuffers = encoderVariables(this.online, 'buffers');
    this.targetParams = encoderVariables(this.target, 'params');
    this.targetBuffers = encoderVariables(this.target, 'buffers');
    copyInto(this.targetParams, this.onlineParams);
    copyInto(this.targetBuffers, this.onlineBuffers);
    this.sgd = new Sgd(this.onlineParams, {
      momentum: config.optim.momentum,
      weightDecay: config.optim.weightDecay,
      decays: decayOnlyMatrices(this.onlineParams),
    });
    if (config.method === 'moco-v2')
      this.queue = new NegativeQueue(config.moco.queueSize, projectionHead(config).dim, seed + 5);
  }

  /**
   * One micro-batch: target forward (outside the tape), online forward and loss under
   * tf.variableGrads, then the BN running statistics. With a non-finite loss nothing is applied and
   * no gradients are returned.
   */
  async forwardBackward(views: Views): Promise<MicroBatchResult> {
    // SimCLR compares the online views with each other: nothing runs on the target.
    const targetOut =
      this.config.method === 'simclr' ? undefined : targetForward(this.target, views, this.config);
    const stats = createBatchStatsCollector();
    let kept: tf.Scalar[] = [];
    const { value, grads } = keyedVariableGrads(() => {
      const terms = pretrainLoss(this.config, this.online, views, targetOut, stats.sink, {
        negatives: this.queue?.keys,
      });
      kept = [terms.global, terms.emd ?? tf.scalar(0), terms.collapseStd].map((t) => tf.keep(t));
      return terms.total;
    }, this.onlineParams);
    const [total, global, emd, collapse] = await readScalars([value, ...kept]);
    // MoCo enqueues this batch's keys [k1; k2] after using the queue, as its training loop does.
    if (this.queue && targetOut && Number.isFinite(total)) this.queue.enqueue(targetOut.z);
    tf.dispose([value, ...kept, ...Object.values(targetOut ?? {}).flat()].filter(Boolean) as tf.Tensor[]);
    if (!Number.isFinite(total)) {
      tf.dispose([...grads.values()]);
      stats.clear();
      return { total, global, emd, collapse };
    }
    applyRunningStats(this.onlineParts, stats.records);
    stats.clear();
    return { total, global, emd, collapse, grads };
  }

  /** SGD on the (accumulated) gradients, which it disposes, then the EMA of the target. */
  update(grads: Map<string, tf.Tensor>, lr: number, tau: number): void {
    this.sgd.step(grads, lr);
    tf.dispose([...grads.values()]);
    emaUpdate(this.targetParams, sharedWithTarget(this.onlineParams, this.targetParams), tau);
    emaUpdate(this.targetBuffers, sharedWithTarget(this.onlineBuffers, this.targetBuffers), tau);
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
    if (this.queue) out.set(`moco.${QUEUE_KEY}`, this.queue.keys);
    return out;
  }

  restore(loaded: LoadedCheckpoint<PretrainState>): void {
    restoreVariables(loaded, 'online.params/', this.onlineParams);
    restoreVariables(loaded, 'online.buffers/', this.onlineBuffers);
    restoreVariables(loaded, 'target.params/', this.targetParams);
    restoreVariables(loaded, 'target.buffers/', this.targetBuffers);
    restoreVariables(loaded, 'sgd.momentum/', this.sgd.momentumBuffers);
    restoreBatchCounts(this.onlineParts, loaded.state.numBatchesTracked, `checkpoint ${loaded.dir}`);
    if (this.queue) {
      restoreVariables(loaded, 'moco.', new Map([[QUEUE_KEY, this.queue.keys as tf.Variable]]));
      const ptr = loaded.state.queuePointer;
      if (typeof ptr !== 'number')
        throw new Error(`checkpoint ${loaded.dir}: a moco-v2 checkpoint without queuePointer`);
      this.queue.setPointer(ptr);
    }
  }

  /** What the checkpoint's JSON state carries of the model besides BN counters. */
  queueState(): { queuePointer?: number } {
    return this.queue ? { queuePointer: this.queue.ptr } : {};
  }

  numBatchesTracked(): Record<string, number> {
    return batchCounts(this.onlineParts);
  }

  dispose(): void {
    disposeEncoder(this.online);
    disposeEncoder(this.target);
    this.sgd.dispose();
    this.queue?.dispose();
  }
}

export interface RunPretrainingArgs extends ResumeOptions {
  config: PretrainConfig;
  images: RawImage[];
  /** The run's folder: checkpoints go to `<runDir>/checkpoints`. */
  runDir: string;
  hooks?: TrainingHooks;
  /** Checkpoints kept on disk (newest). */
  keepCheckpoints?: number;
  /**
   * `worker` renders the next batch's views in a worker thread while this one trains (default);
   * `none` renders them in-process. Both give bit-identical batches.
   */
  prefetch?: 'worker' | 'none';
}

export async function runPretraining(args: RunPretrainingArgs): Promise<TrainingResult> {
  const { config, images, hooks = {} } = args;
  const plan = plannedPretrainSteps(config, images.length);
  const model = new PretrainModel(config);
  const loader: PretrainLoader = createPretrainLoader({
    images,
    batchSize: config.optim.batchSize,
    rng: createRng(config.seed),
    viewSpecs: pretrainViewSpecs(config),
    prefetch: args.prefetch ?? 'worker',
  });
  try {
    const spc =
      config.method === 'self-emd' && config.emd.spc
        ? spcLevels(config.data.imageSize, config.emd.spcGrids)
        : null;
    if (spc?.note) hooks.onLog?.(`spatial pyramid crops: ${spc.note}`);
    const queueNote = mocoQueueNote(config, images.length);
    if (queueNote) hooks.onLog?.(queueNote);
    const probe = await createPretrainProbe(config, plan.totalSteps, hooks);
    const task = pretrainTask(config, plan, model, loader);
    if (probe) {
      // A fresh run is probed before its first step too: the curve starts from the initial backbone.
      if (!args.resume) await probe({ step: 0, epoch: 0 }, model.online.backbone);
      task.afterStep = (at) => probe(at, model.online.backbone);
    }
    return await runTrainingLoop(task, {
      runDir: args.runDir,
      hooks,
      resume: args.resume,
      resumeStep: args.resumeStep,
      keepCheckpoints: args.keepCheckpoints,
      checkpointEvery: config.checkpoint.everySteps,
      checkpointAtEpochEnd: true,
    });
  } finally {
    model.dispose();
    await loader.close();
  }
}

/** Pretraining as the training loop runs it: one step is `accumulate` micro-batches and one update. */
function pretrainTask(
  config: PretrainConfig,
  plan: PretrainStepPlan,
  model: PretrainModel,
  loader: PretrainLoader,
): TrainingTask<PretrainState> {
  // The loader's state after the last batch trained on (with prefetch, the loader itself is ahead).
  let loaderState = loader.getState();
  return {
    totalSteps: plan.totalSteps,
    stepsPerEpoch: plan.stepsPerEpoch,

    async step(k) {
      const lr = warmupCosineLr(k, config.optim.lr, plan.warmupSteps, plan.totalSteps);
      const tau = targetMomentum(config, k, plan.totalSteps);
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
        loaderState = batch.stateAfter;
        if (!out.grads) {
          // Nothing applied: the loop stops on this loss.
          if (accumulated) tf.dispose([...accumulated.values()]);
          return { loss: out.total, metrics: [] };
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
      return {
        loss: sums.total * scale,
        metrics: [
          { key: 'loss/global', value: sums.global * scale },
          ...(config.method === 'self-emd' ? [{ key: 'loss/emd', value: sums.emd * scale }] : []),
          { key: 'opt/lr', value: lr },
          { key: 'opt/tau', value: tau },
          { key: 'monitor/collapse_std', value: sums.collapse * scale },
          // Time the step spent waiting for its batch: ~0 when prefetching keeps up with training.
          { key: 'perf/data_wait_ms', value: dataWaitMs },
        ],
      };
    },

    checkpointTensors: () => model.checkpointTensors(),
    checkpointState: () => ({
      loader: loaderState,
      numBatchesTracked: model.numBatchesTracked(),
      method: config.method,
      backbone: config.backbone.name,
      ...model.queueState(),
    }),
    restore(loaded) {
      if (loaded.state.method !== config.method || loaded.state.backbone !== config.backbone.name)
        throw new Error(
          `checkpoint ${loaded.dir} is from a ${loaded.state.method}/${loaded.state.backbone} run, not this config`,
        );
      model.restore(loaded);
      loaderState = loaded.state.loader;
      loader.setState(loaderState);
    },
  };
}
