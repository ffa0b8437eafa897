/**
 * The shared training loop on its own, driving a tiny task (linear regression by momentum SGD on
 * seeded mini-batches): a pause and a resume give exactly the losses of an uninterrupted run, a
 * non-finite loss stops with a clear message and no update, cancel leaves no checkpoint, the
 * checkpoint schedule holds, and the loop never reads a tensor synchronously (WebGPU forbids it).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { epochOfStep } from '../../../shared/metrics/epoch';
import { createRng, type RngState } from '../../../src-main/engine/data/rng';
import { listCheckpoints, loadCheckpoint, restoreVariables } from '../../../src-main/engine/train/checkpoint';
import { Sgd } from '../../../src-main/engine/train/sgd';
import type { MetricSample, StopRequest, TrainingHooks } from '../../../src-main/engine/train/training-hooks';
import {
  NonFiniteLossError,
  readScalars,
  runTrainingLoop,
  type LoopPosition,
  type TrainingLoopOptions,
  type TrainingTask,
} from '../../../src-main/engine/train/training-loop';
import { keyedVariableGrads } from '../../../src-main/engine/train/variable-grads';
import { forbidSyncReads } from '../forbid-sync-reads';
import { tempDir } from '../../temp-dir';

beforeAll(async () => {
  await initBackend('wasm');
});
afterEach(() => vi.restoreAllMocks());

const tmp = () => tempDir('training-loop-');

interface RegressionState extends LoopPosition {
  rng: RngState;
  kind: 'regression';
}

const SAMPLES = 12;
const BATCH = 3;

/**
 * y = x·[1, −2, 3] + 0.5 on 12 fixed points; each step draws a random batch (so the RNG state must
 * survive a resume), SGD with momentum (so must the optimizer's buffers). `poisonAt` makes that
 * step's targets infinite, so its loss is too.
 */
function regressionTask(opts: { totalSteps?: number; stepsPerEpoch?: number; poisonAt?: number } = {}) {
  const xs = tf.tidy(() => tf.randomUniform([SAMPLES, 3], -1, 1, 'float32', 5));
  const ys = tf.tidy(() => tf.add(tf.matMul(xs, tf.tensor2d([[1], [-2], [3]])), 0.5));
  const params = new Map<string, tf.Variable>([
    ['linear/weight', tf.variable(tf.zeros([3, 1]), true, 'loop-test-w' + Math.random())],
    ['linear/bias', tf.variable(tf.zeros([1]), true, 'loop-test-b' + Math.random())],
  ]);
  const sgd = new Sgd(params, { momentum: 0.9, weightDecay: 0.01, decays: (n) => n.endsWith('weight') });
  const rng = createRng(7);
  const task: TrainingTask<RegressionState> = {
    totalSteps: opts.totalSteps ?? 6,
    stepsPerEpoch: opts.stepsPerEpoch ?? 4,
    async step(k) {
      const idx = tf.tensor1d(rng.permutation(SAMPLES).slice(0, BATCH), 'int32');
      const { value, grads } = keyedVariableGrads(
        () =>
          tf.tidy(() => {
            const x = tf.gather(xs, idx);
            let y = tf.gather(ys, idx);
            if (k === opts.poisonAt) y = tf.mul(y, Infinity);
            const pred = tf.add(tf.matMul(x, params.get('linear/weight')!), params.get('linear/bias')!);
            return tf.mean(tf.square(tf.sub(pred, y))) as tf.Scalar;
          }),
        params,
      );
      idx.dispose();
      const [loss] = await readScalars([value]);
      value.dispose();
      if (Number.isFinite(loss)) sgd.step(grads, 0.1);
      tf.dispose([...grads.values()]);
      return { loss: loss!, metrics: [{ key: 'opt/lr', value: 0.1 }] };
    },
    checkpointTensors() {
      const out = new Map<string, tf.Tensor>();
      for (const [k, v] of params) out.set(`params/${k}`, v);
      for (const [k, v] of sgd.momentumBuffers) out.set(`sgd.momentum/${k}`, v);
      return out;
    },
    checkpointState: () => ({ rng: rng.getState(), kind: 'regression' }),
    restore(loaded) {
      if (loaded.state.kind !== 'regression')
        throw new Error(`checkpoint ${loaded.dir} is not a regression run`);
      restoreVariables(loaded, 'params/', params);
      restoreVariables(loaded, 'sgd.momentum/', sgd.momentumBuffers);
      rng.setState(loaded.state.rng);
    },
  };
  const weights = async () => [
    ...(await params.get('linear/weight')!.data()),
    ...(await params.get('linear/bias')!.data()),
  ];
  const dispose = () => {
    tf.dispose([xs, ys, ...params.values()]);
    sgd.dispose();
  };
  return { task, weights, dispose };
}

/** Runs a fresh task through the loop; collects metrics and checkpoint steps. */
async function run(
  options: Omit<TrainingLoopOptions, 'checkpointEvery' | 'checkpointAtEpochEnd'> &
    Partial<TrainingLoopOptions> & { task?: Parameters<typeof regressionTask>[0] },
) {
  const t = regressionTask(options.task);
  const metrics: MetricSample[] = [];
  const checkpoints: number[] = [];
  const log: string[] = [];
  const hooks: TrainingHooks = {
    onMetrics: (p) => metrics.push(...p),
    onCheckpoint: (c) => checkpoints.push(c.step),
    onLog: (m) => log.push(m),
    ...options.hooks,
  };
  try {
    const result = await runTrainingLoop(t.task, {
      checkpointEvery: 2,
      checkpointAtEpochEnd: false,
      ...options,
      hooks,
    });
    return { result, metrics, checkpoints, log, weights: await t.weights() };
  } finally {
    t.dispose();
  }
}

const losses = (m: MetricSample[]) => m.filter((p) => p.key === 'loss/total').map((p) => [p.step, p.value]);
const stopAt = (step: number, request: StopRequest) => {
  let done = 0;
  return {
    onProgress: (p: { step: number }) => void (done = p.step),
    shouldStop: (): StopRequest => (done >= step ? request : 'continue'),
  };
};

describe('training loop', () => {
  it('pause at step 3, then resume: the same losses and weights as an uninterrupted run', async () => {
    const straight = await run({ runDir: tmp() });
    expect(straight.result).toMatchObject({ status: 'completed', step: 6, totalSteps: 6 });
    expect(losses(straight.metrics).map(([s]) => s)).toEqual([1, 2, 3, 4, 5, 6]);
    // Training does something (else equality would say nothing): the loss falls.
    expect(losses(straight.metrics)[5]![1]).toBeLessThan(losses(straight.metrics)[0]![1]! / 2);

    const runDir = tmp();
    const first = await run({ runDir, hooks: stopAt(3, 'pause') });
    // Paused off the schedule (checkpoints every 2): the pause writes its own checkpoint.
    expect(first.result).toMatchObject({ status: 'paused', step: 3 });
    expect(first.checkpoints).toEqual([2, 3]);
    const second = await run({ runDir, resume: true });
    expect(second.result).toMatchObject({ status: 'completed', step: 6 });
    expect(second.log).toContain(
      `resumed from step 3 (${path.join(runDir, 'checkpoints', 'step-00000003')})`,
    );
    expect([...losses(first.metrics), ...losses(second.metrics)]).toEqual(losses(straight.metrics));
    expect(second.result.lastLoss).toBe(straight.result.lastLoss);
    expect(second.weights).toEqual(straight.weights);
    // Every step reports the task's metrics between loss/total and the step time, stamped alike.
    expect(second.metrics.filter((p) => p.step === 4).map((p) => p.key)).toEqual([
      'loss/total',
      'opt/lr',
      'perf/step_ms',
    ]);
  });

  it('a non-finite loss stops the run, names the step, applies nothing and keeps the last checkpoint', async () => {
    const runDir = tmp();
    const t = regressionTask({ poisonAt: 3 });
    const reference = await run({ runDir: tmp(), task: { totalSteps: 3 } });
    let error: unknown;
    try {
      await runTrainingLoop(t.task, { runDir, checkpointEvery: 2, checkpointAtEpochEnd: false });
    } catch (e) {
      error = e;
    }
    try {
      expect(error).toBeInstanceOf(NonFiniteLossError);
      expect((error as Error).message).toMatch(
        /^loss became (NaN|Infinity) at step 3; training stopped\. The last good checkpoint \(step 2\) is kept: resume from it with a lower learning rate\.$/,
      );
      expect(listCheckpoints(path.join(runDir, 'checkpoints')).map((c) => c.step)).toEqual([2]);
      // The poisoned step changed nothing: the weights are those of three good steps.
      expect(await t.weights()).toEqual(reference.weights);
    } finally {
      t.dispose();
    }

    await expect(run({ runDir: tmp(), task: { poisonAt: 0 } })).rejects.toThrow(
      /at step 0; training stopped\. No checkpoint was written yet: lower the learning rate and start again\.$/,
    );
  });

  it('cancel stops before the next step and writes no checkpoint', async () => {
    const runDir = tmp();
    const r = await run({ runDir, checkpointEvery: 100, hooks: stopAt(3, 'cancel') });
    expect(r.result).toMatchObject({ status: 'cancelled', step: 3, totalSteps: 6 });
    expect(r.result.lastLoss).toBe(losses(r.metrics).at(-1)![1]);
    expect(r.checkpoints).toEqual([]);
    expect(listCheckpoints(path.join(runDir, 'checkpoints'))).toEqual([]);
    await expect(run({ runDir, resume: true })).rejects.toThrow(/cannot resume: no usable checkpoint in/);
  });

  it('pause writes a checkpoint only where there is none, even before the first step', async () => {
    const atStart = await run({ runDir: tmp(), hooks: { shouldStop: () => 'pause' } });
    expect(atStart.result).toMatchObject({ status: 'paused', step: 0 });
    expect(Number.isNaN(atStart.result.lastLoss)).toBe(true);
    expect(atStart.checkpoints).toEqual([0]);
    const onSchedule = await run({ runDir: tmp(), hooks: stopAt(2, 'pause') });
    expect(onSchedule.checkpoints).toEqual([2]);
  });

  it('checkpoints every N steps, at epoch ends when asked, and after the last step; keeps the newest', async () => {
    const runDir = tmp();
    const r = await run({
      runDir,
      checkpointEvery: 4,
      checkpointAtEpochEnd: true,
      keepCheckpoints: 2,
      task: { totalSteps: 7, stepsPerEpoch: 3 },
    });
    expect(r.checkpoints).toEqual([3, 4, 6, 7]);
    expect(listCheckpoints(path.join(runDir, 'checkpoints')).map((c) => c.step)).toEqual([6, 7]);
    const last = loadCheckpoint<RegressionState>(path.join(runDir, 'checkpoints', 'step-00000007'));
    expect(last.state).toMatchObject({ step: 7, epoch: 2, kind: 'regression' });
    expect(last.state.rng).toHaveLength(4);
  });

  it('reports the same epoch while running as the checkpoint written at that step (epochOfStep)', async () => {
    const progress = new Map<number, number>();
    const saved = new Map<number, number>();
    await run({
      runDir: tmp(),
      checkpointEvery: 2,
      checkpointAtEpochEnd: true,
      task: { totalSteps: 7, stepsPerEpoch: 3 },
      hooks: {
        onProgress: (p) => void progress.set(p.step, p.epoch),
        onCheckpoint: (c) => void saved.set(c.step, c.epoch),
      },
    });
    expect([...saved.keys()]).toEqual([2, 3, 4, 6, 7]);
    for (const [step, epoch] of saved) {
      expect(progress.get(step), `step ${step}`).toBe(epoch);
      expect(epoch, `step ${step}`).toBe(epochOfStep(step, 3));
    }
  });

  it('never reads a tensor synchronously (training, checkpoints, resume)', async () => {
    forbidSyncReads(); // restored after each test
    const runDir = tmp();
    const first = await run({ runDir, hooks: stopAt(3, 'pause') });
    const second = await run({ runDir, resume: true });
    expect(second.result).toMatchObject({ status: 'completed', step: 6 });
    expect(first.checkpoints.length + second.checkpoints.length).toBe(4);
  });

  it("a checkpoint that is not this task's, or has no position, is refused", async () => {
    const runDir = tmp();
    await run({ runDir, task: { totalSteps: 2 } });
    const manifest = path.join(runDir, 'checkpoints', 'step-00000002', 'manifest.json');
    const m = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { state: { kind: string } };
    // Written with a valid checksum: a wrong task is refused as such, not as a damaged file.
    const reseal = () => {
      const { manifestSha256: _old, ...body } = m as typeof m & { manifestSha256?: string };
      fs.writeFileSync(
        manifest,
        JSON.stringify({
          ...body,
          manifestSha256: createHash('sha256').update(JSON.stringify(body)).digest('hex'),
        }),
      );
    };
    m.state.kind = 'other';
    reseal();
    await expect(run({ runDir, resume: true })).rejects.toThrow(/step-00000002 is not a regression run/);
    // The loop's own part of the state is checked before the task sees it.
    delete (m.state as Partial<RegressionState>).epoch;
    reseal();
    await expect(run({ runDir, resume: true })).rejects.toThrow(
      /step-00000002: its state has no whole step and epoch \(got 2, undefined\)/,
    );
  });
});
