/**
 * The one optimizer-step loop every training task runs (pretraining, detector fine-tuning). The
 * task supplies its step and its state; the loop owns what they have in common: polling for
 * pause/cancel between steps, reporting each step, stopping on a non-finite loss, writing and
 * pruning checkpoints, resuming from one, and keeping a GPU backend's buffer pool under its bound
 * (backend/buffer-pool.ts). It never reads a tensor itself (a checkpoint reads
 * them with `await tensor.data()`), so it runs on backends where synchronous reads throw (WebGPU).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { PooledMemoryBound } from '../backend/buffer-pool';
import { deviceMemory } from '../backend/device-memory';
import { epochOfStep } from '../../../shared/metrics/epoch';
import {
  pruneCheckpoints,
  resumeCheckpoint,
  saveCheckpoint,
  type LoadedCheckpoint,
  type ResumeOptions,
} from './checkpoint';
import type { TrainingHooks, TrainingResult } from './training-hooks';

/** Where a run stands: optimizer steps done, and the epoch they complete. Every checkpoint stores it. */
export interface LoopPosition {
  step: number;
  epoch: number;
}

/** What one optimizer step gives back to the loop. */
export interface StepOutcome {
  /**
   * The step's loss, reported as `loss/total`. When it is not finite the step must have applied
   * no update (weights, optimizer state and running statistics stay as the last good step left
   * them): the loop stops with NonFiniteLossError.
   */
  loss: number;
  /** The task's own metrics of the step (loss terms, learning rate, …), stamped by the loop. */
  metrics: { key: string; value: number }[];
}

/**
 * A training task as the loop sees it. `S` is the JSON state its checkpoints carry, including the
 * loop's position (which the loop fills in).
 */
export interface TrainingTask<S extends LoopPosition> {
  readonly totalSteps: number;
  readonly stepsPerEpoch: number;
  /**
   * One optimizer step; `index` is the number of steps done before it. Async: tensor values are
   * read with `await tensor.data()`, never `dataSync()`.
   */
  step(index: number): Promise<StepOutcome>;
  /** Everything a resume needs that lives in tensors (weights, buffers, optimizer state), by name. */
  checkpointTensors(): Map<string, tf.Tensor>;
  /** Everything else a resume needs (data order, RNG state, counters), as JSON. */
  checkpointState(): Omit<S, keyof LoopPosition>;
  /** Puts a checkpoint back; throws a clear error if it is not this task's. */
  restore(loaded: LoadedCheckpoint<S>): void;
  /** Runs after a step is reported and before its checkpoint (fine-tuning evaluates here). */
  afterStep?(at: LoopPosition): void | Promise<void>;
}

export interface TrainingLoopOptions extends ResumeOptions {
  /** The run's folder: checkpoints go to `<runDir>/checkpoints`. */
  runDir: string;
  hooks?: TrainingHooks;
  /** Checkpoints kept on disk (newest); 3 when omitted. */
  keepCheckpoints?: number;
  /** A checkpoint every this many steps (and always after the last step). */
  checkpointEvery: number;
  /** Also a checkpoint whenever an epoch ends. */
  checkpointAtEpochEnd: boolean;
}

/** The values of scalar tensors, read without blocking (`data()`, never `dataSync()`): for a step's losses. */
export async function readScalars(tensors: readonly tf.Tensor[]): Promise<number[]> {
  return Promise.all(tensors.map(async (t) => (await t.data())[0]!));
}

/**
 * The GPU's memory after a step, where the backend reports it (webgpu): flat after the first steps
 * when shapes are fixed, growing when they vary (backend/capabilities.ts, POOLS_BUFFERS_BY_SIZE).
 */
function gpuMemoryMetrics(): { key: string; value: number }[] {
  const m = deviceMemory();
  if (m.gpuBytesAllocated === undefined || m.gpuBytesInUse === undefined) return [];
  return [
    { key: 'perf/gpu_allocated_mb', value: m.gpuBytesAllocated / 2 ** 20 },
    { key: 'perf/gpu_in_use_mb', value: m.gpuBytesInUse / 2 ** 20 },
  ];
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

export async function runTrainingLoop<S extends LoopPosition>(
  task: TrainingTask<S>,
  options: TrainingLoopOptions,
): Promise<TrainingResult> {
  const { hooks = {}, checkpointEvery, checkpointAtEpochEnd } = options;
  const { totalSteps, stepsPerEpoch } = task;
  const ckptRoot = path.join(options.runDir, 'checkpoints');
  fs.mkdirSync(ckptRoot, { recursive: true });
  const at: LoopPosition = { step: 0, epoch: 0 };
  let lastCheckpointStep: number | undefined;

  if (options.resume) {
    const loaded = resumeCheckpoint<S>(ckptRoot, options.resumeStep, (m) => hooks.onLog?.(m));
    const { step, epoch } = loaded.state as Partial<LoopPosition>;
    if (!Number.isInteger(step) || !Number.isInteger(epoch))
      throw new Error(
        `checkpoint ${loaded.dir}: its state has no whole step and epoch (got ${step}, ${epoch})`,
      );
    task.restore(loaded);
    at.step = loaded.state.step;
    at.epoch = loaded.state.epoch;
    lastCheckpointStep = at.step;
    hooks.onLog?.(`resumed from step ${at.step} (${loaded.dir})`);
  }

  const writeCheckpoint = async () => {
    const state = { step: at.step, epoch: at.epoch, ...task.checkpointState() } as S;
    const saved = await saveCheckpoint(ckptRoot, at.step, task.checkpointTensors(), state);
    pruneCheckpoints(ckptRoot, options.keepCheckpoints ?? 3);
    lastCheckpointStep = at.step;
    hooks.onCheckpoint?.({ step: at.step, epoch: at.epoch, dir: saved.dir, bytes: saved.bytes });
  };

  const poolBound = new PooledMemoryBound();
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  const startedMs = performance.now();
  const startStep = at.step;
  let lastLoss = NaN;
  const ended = (status: TrainingResult['status']): TrainingResult => ({
    status,
    step: at.step,
    totalSteps,
    lastLoss,
  });

  while (at.step < totalSteps) {
    // Awaiting tensor data only yields to microtasks: let IPC messages (pause, cancel) arrive.
    await new Promise((resolve) => setImmediate(resolve));
    const stop = hooks.shouldStop?.() ?? 'continue';
    if (stop === 'pause') {
      if (lastCheckpointStep !== at.step) await writeCheckpoint();
      return ended('paused');
    }
    if (stop === 'cancel') return ended('cancelled');

    const t0 = performance.now();
    const outcome = await task.step(at.step);
    if (!Number.isFinite(outcome.loss))
      throw new NonFiniteLossError(at.step, outcome.loss, lastCheckpointStep);
    at.step += 1;
    at.epoch = epochOfStep(at.step, stepsPerEpoch);
    lastLoss = outcome.loss;
    const trim = poolBound.afterStep();
    if (trim)
      hooks.onLog?.(
        `step ${at.step}: pooled GPU memory passed its bound (${mib(trim.allocatedBefore)} > ${mib(trim.boundBytes)}): ` +
          `released ${trim.freedBuffers} pooled buffers (${mib(trim.freedBytes)}); some tensor shapes change from step to step`,
      );

    const now = Date.now();
    const metrics = [
      { key: 'loss/total', value: outcome.loss },
      ...outcome.metrics,
      { key: 'perf/step_ms', value: performance.now() - t0 },
      ...gpuMemoryMetrics(),
    ];
    hooks.onMetrics?.(metrics.map((p) => ({ ...p, step: at.step, wallTime: now })));
    // ETA from the mean step time since this process started (or resumed) the run.
    const secondsPerStep = (performance.now() - startedMs) / 1000 / (at.step - startStep);
    hooks.onProgress?.({
      step: at.step,
      totalSteps,
      epoch: at.epoch,
      stepsPerEpoch,
      secondsPerStep,
      etaSeconds: secondsPerStep * (totalSteps - at.step),
    });

    await task.afterStep?.({ ...at });
    const epochEnded = at.step % stepsPerEpoch === 0;
    if (at.step === totalSteps || at.step % checkpointEvery === 0 || (checkpointAtEpochEnd && epochEnded))
      await writeCheckpoint();
  }
  return ended('completed');
}
