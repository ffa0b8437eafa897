/**
 * `node bin/profile.mjs [--variant byol|self-emd|self-emd+spc|self-emd+spc+scale|supervised]
 *   [--steps 4 --warmup 1 --width 32 --batch 16 --size 96 --top 25]`
 * Where the time of one training step goes on the current backend: the step of pretrain.ts
 * (target forward, online forward + loss under tf.variableGrads, SGD, EMA), or the
 * supervised-style step, on fixed random views, with every kernel timed (bench/kernel-timer.ts).
 * Prints wall and CPU ms per step, kernel time per kernel name and the rest (engine, tape, JS).
 * A profiling aid; `npm run bench` is the measurement of record.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { cpuDemoOverrides, resolvePretrainConfig, type PretrainConfig } from '../shared/config/pretrain';
import { mergeDefaults } from '../shared/config/validation';
import { initBackend } from '../src-main/engine/backend/select';
import { createBackbone } from '../src-main/engine/models/registry';
import { createBatchStatsCollector, updateRunningStats } from '../src-main/engine/models/running-stats';
import { emaUpdate } from '../src-main/engine/ssl/ema';
import { createEncoder, encoderVariables, sharedWithTarget } from '../src-main/engine/ssl/networks';
import { pretrainLoss, targetForward, type Views } from '../src-main/engine/ssl/objective';
import { decayOnlyMatrices, Sgd } from '../src-main/engine/train/sgd';
import { installKernelTimer } from './kernel-timer';

const { values: a } = parseArgs({
  options: {
    variant: { type: 'string', default: 'self-emd+spc+scale' },
    width: { type: 'string', default: '32' },
    batch: { type: 'string', default: '16' },
    size: { type: 'string', default: '96' },
    steps: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '1' },
    top: { type: 'string', default: '25' },
    backend: { type: 'string', default: 'wasm' },
    /** Comma-separated kernel names to split by input shape. */
    detail: { type: 'string', default: '' },
  },
});
const width = Number(a.width);
const batch = Number(a.batch);
const size = Number(a.size);
const variant = a.variant!;

const backend = await initBackend(a.backend as PretrainConfig['backend']);
const timer = installKernelTimer(tf.getBackend(), a.detail ? a.detail.split(',') : []);

function config(): PretrainConfig {
  return resolvePretrainConfig(
    mergeDefaults(cpuDemoOverrides(), {
      method: variant === 'byol' ? 'byol' : 'self-emd',
      backbone: { name: 'resnet18', baseWidth: width },
      data: { imageSize: size },
      optim: { batchSize: batch },
      emd: {
        spc: variant.includes('spc'),
        scaleView: variant.includes('scale'),
        scaleViewSize: Math.max(32, Math.round(size / 2 / 16) * 16),
      },
    }),
  );
}

type Step = () => Promise<void>;

function sslStep(): Step {
  const cfg = config();
  const online = createEncoder(cfg, 'online', 1);
  const target = createEncoder(cfg, 'target', 1);
  const onlineParams = encoderVariables(online, 'params');
  const targetParams = encoderVariables(target, 'params');
  const sgd = new Sgd(onlineParams, { momentum: 0.9, weightDecay: 1e-4, decays: decayOnlyMatrices(onlineParams) });
  const views: Views = {
    v1: tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 1),
    v2: tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 2),
  };
  if (variant.includes('scale')) {
    const s = cfg.emd.scaleViewSize;
    views.small = tf.randomNormal([batch, s, s, 3], 0, 1, 'float32', 3);
  }
  const keyOf = new Map([...onlineParams].map(([k, v]) => [v.name, k]));
  const varList = [...onlineParams.values()];
  return async () => {
    const tOut = targetForward(target, views, cfg);
    const stats = createBatchStatsCollector();
    const { value, grads } = tf.variableGrads(
      () => pretrainLoss(cfg, online, views, tOut, stats.sink).total,
      varList,
    );
    await value.data();
    tf.dispose([value, ...(Object.values(tOut).flat().filter(Boolean) as tf.Tensor[])]);
    sgd.step(new Map(Object.entries(grads).map(([n, g]) => [keyOf.get(n)!, g])), 0.01);
    tf.dispose(Object.values(grads));
    stats.clear();
    emaUpdate(targetParams, sharedWithTarget(onlineParams, targetParams), 0.99);
  };
}

function supervisedStep(): Step {
  const backbone = createBackbone('resnet18', { baseWidth: width, seed: 0 });
  const feat = backbone.featureInfo.res5.channels;
  const fcW = tf.variable(tf.randomNormal([feat, 10], 0, 0.01, 'float32', 1));
  const fcB = tf.variable(tf.zeros([10]));
  const params = new Map<string, tf.Variable>([...backbone.params, ['fc.weight', fcW], ['fc.bias', fcB]]);
  const sgd = new Sgd(params, { momentum: 0.9, weightDecay: 1e-4, decays: decayOnlyMatrices(params) });
  const keyOf = new Map([...params].map(([k, v]) => [v.name, k]));
  const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
  const labels = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32'), 10);
  return async () => {
    const stats = createBatchStatsCollector();
    const { value, grads } = tf.variableGrads(() => {
      const f = backbone.forward(x, { training: true, onBatchStats: stats.sink }).res5;
      const logits = tf.add(tf.matMul(tf.mean(f, [1, 2]) as tf.Tensor2D, fcW), fcB);
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    }, [...params.values()]);
    await value.data();
    sgd.step(new Map(Object.entries(grads).map(([n, g]) => [keyOf.get(n)!, g])), 0.01);
    updateRunningStats(backbone, stats.records);
    stats.clear();
    tf.dispose([value, ...Object.values(grads)]);
  };
}

const step = variant === 'supervised' ? supervisedStep() : sslStep();
for (let i = 0; i < Number(a.warmup); i++) await step();
timer.reset();
const wall: number[] = [];
const cpu: number[] = [];
const steps = Number(a.steps);
const before = tf.memory().numTensors;
for (let i = 0; i < steps; i++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await step();
  wall.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
}
const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
const kernelMs = timer.totalMs() / steps;
const kernelCpu = timer.totalCpuMs() / steps;
console.log(
  `${variant}: ${backend.choice}, width ${width}, batch ${batch}, ${size} px; wall ms/step median ${median(wall).toFixed(0)} ` +
    `[${wall.map((x) => x.toFixed(0)).join(' ')}], cpu ms/step median ${median(cpu).toFixed(0)}; ` +
    `kernels ${kernelMs.toFixed(0)} ms/step (mean), tensors ${before}→${tf.memory().numTensors}`,
);
console.log('kernel                         calls/step  wall ms  cpu ms   cpu share');
const mean = (x: number) => x / steps;
const allWall = wall.reduce((s, x) => s + x, 0) / steps;
const allCpu = cpu.reduce((s, x) => s + x, 0) / steps;
for (const s of timer.stats().slice(0, Number(a.top)))
  console.log(
    `${s.name.padEnd(30)} ${mean(s.calls).toFixed(0).padStart(10)} ${mean(s.ms).toFixed(1).padStart(8)} ${mean(s.cpuMs).toFixed(1).padStart(7)} ${((100 * mean(s.cpuMs)) / allCpu).toFixed(1).padStart(6)}%`,
  );
const calls = timer.stats().reduce((s, k) => s + k.calls, 0) / steps;
console.log(
  `all kernels: ${calls.toFixed(0)} calls/step, wall ${kernelMs.toFixed(1)} ms, cpu ${kernelCpu.toFixed(1)} ms; ` +
    `outside kernels: wall ${(allWall - kernelMs).toFixed(1)} ms, cpu ${(allCpu - kernelCpu).toFixed(1)} ms per step`,
);
process.exit(0);
