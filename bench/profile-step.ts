/**
 * `node bin/profile.mjs [--variant byol|self-emd|self-emd+spc|self-emd+spc+scale|supervised]
 *   [--steps 4 --warmup 1 --width 32 --batch 16 --size 96 --top 25]`
 * Where the time of one training step goes on the current backend: the trainer's step
 * (PretrainModel: target forward, online forward + loss under tf.variableGrads, SGD, EMA) or the
 * supervised-style step of the bench, on fixed random views, with every kernel timed (bench/kernel-timer.ts).
 * Prints wall and CPU ms per step, kernel time per kernel name and the rest (engine, tape, JS).
 * With `--programs` (for webgpu, where kernels run asynchronously and wall times per kernel say
 * nothing): one step after the warm-up under tf.profile, printing kernel names and shader programs
 * with counts and GPU times (bench/program-profile.ts).
 * A profiling aid; `npm run bench` is the measurement of record.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { cpuDemoOverrides, resolvePretrainConfig, type PretrainConfig } from '../shared/config/pretrain';
import { mergeDefaults } from '../shared/config/validation';
import { adapterLine } from '../shared/dto/gpu-adapter';
import { initBackend } from '../src-main/engine/backend/select';
import type { Views } from '../src-main/engine/ssl/objective';
import { PretrainModel } from '../src-main/engine/train/pretrain';
import { installKernelTimer } from './kernel-timer';
import { formatCounts, profilePrograms } from './program-profile';
import { supervisedStepper } from './supervised-step';

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
    programs: { type: 'boolean', default: false },
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

/** The trainer's own step (PretrainModel), as `npm run bench` times it, on fixed random views. */
function sslStep(): Step {
  const cfg = config();
  const model = new PretrainModel(cfg);
  const views: Views = {
    v1: tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 1),
    v2: tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 2),
  };
  if (variant.includes('scale')) {
    const s = cfg.emd.scaleViewSize;
    views.small = tf.randomNormal([batch, s, s, 3], 0, 1, 'float32', 3);
  }
  return async () => {
    const out = await model.forwardBackward(views);
    if (!out.grads) throw new Error(`profile: ${variant} loss became ${out.total}`);
    model.update(out.grads, 0.01, 0.99);
  };
}

function supervisedStep(): Step {
  const stepper = supervisedStepper({ backbone: 'resnet18', width, batch, size });
  return () => stepper.step();
}

const step = variant === 'supervised' ? supervisedStep() : sslStep();
for (let i = 0; i < Number(a.warmup); i++) await step();
if (a.programs) {
  timer.uninstall();
  const p = await profilePrograms(step);
  console.log(
    `${variant}: ${backend.choice}${backend.gpu ? ` (${adapterLine(backend.gpu)})` : ''}, width ${width}, batch ${batch}, ${size} px; one step under tf.profile: ${p.wallMs.toFixed(0)} ms wall`,
  );
  console.log(formatCounts('kernel', p.kernels, Number(a.top)).join('\n'));
  if (p.programs.size) console.log(formatCounts('\nshader program', p.programs, Number(a.top)).join('\n'));
  process.exit(0);
}
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
