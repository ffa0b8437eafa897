/**
 * Timing of the EMD loss forward + backward on the wasm backend (not a vitest test: timings on shared
 * machines are reported, not asserted). Run:  npx tsx test/engine/ssl/bench-emd.ts [reps]
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { initBackend } from '../../../src-main/engine/backend/select';
import { DEFAULT_PRETRAIN_CONFIG } from '../../../shared/config/pretrain';
import { emdLoss, type EmdLossOptions } from '../../../src-main/engine/ssl/emd-loss';
import { pyramidPairs, spatialPyramid } from '../../../src-main/engine/ssl/spatial-pyramid';
import type { CosineStrategy } from '../../../src-main/engine/ssl/cosine-matrix';

const reps = Number(process.argv[2] ?? 15);
await initBackend('wasm');
console.log(
  `wasm backend, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} on ${os.cpus().length} cores`,
);

function bench(B: number, n: number, m: number, C: number, strategy: CosineStrategy, detachPlan = true) {
  const x = tf.randomNormal([B, n, C]) as tf.Tensor3D;
  const y = tf.randomNormal([B, m, C]) as tf.Tensor3D;
  const vx = tf.randomNormal([B, C]) as tf.Tensor2D;
  const vy = tf.randomNormal([B, C]) as tf.Tensor2D;
  const opts: EmdLossOptions = { ...DEFAULT_PRETRAIN_CONFIG.emd, strategy, detachPlan };
  const run = () => {
    const g = tf.grads(
      (a: tf.Tensor, b: tf.Tensor) => emdLoss(a as tf.Tensor3D, b as tf.Tensor3D, vx, vy, opts).loss,
    )([x, y]);
    g[0].dataSync();
    g[1].dataSync();
    tf.dispose(g);
  };
  run();
  run();
  // Wall time, and the process's CPU time: on a shared machine the wall time includes waiting for a
  // core, the CPU time (one thread does the work) is closer to what an idle machine would show.
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    run();
    const c1 = process.cpuUsage(c0);
    wall.push(performance.now() - t0);
    cpu.push((c1.user + c1.system) / 1000);
  }
  const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
  console.log(
    `B=${B} ${n}×${m} C=${C} T=${opts.iterations} ${strategy.padEnd(8)} detachPlan=${String(detachPlan).padEnd(5)}: ` +
      `wall median ${median(wall).toFixed(1)} ms (min ${Math.min(...wall).toFixed(1)}), CPU median ${median(cpu).toFixed(1)} ms (min ${Math.min(...cpu).toFixed(1)}), ${reps} runs`,
  );
  tf.dispose([x, y, vx, vy]);
}

// Calibration: a plain 1024² matMul (XNNPACK) ran at 17.6 GFLOP/s on an idle machine of this kind
// (docs: shared/notes/tfjs-on-cpu.md). The ratio says how much the current load slows everything.
function calibrate(): number {
  const a = tf.randomNormal([1024, 1024]);
  const b = tf.randomNormal([1024, 1024]);
  const times: number[] = [];
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    tf.matMul(a, b).dispose();
    times.push(performance.now() - t0);
  }
  tf.dispose([a, b]);
  const gflops = (2 * 1024 ** 3) / (Math.min(...times.slice(1)) * 1e6);
  console.log(
    `calibration: 1024² matMul ${gflops.toFixed(1)} GFLOP/s (idle reference 17.6): slowdown ×${(17.6 / gflops).toFixed(2)}`,
  );
  return gflops;
}

/** What Self-EMD's default objective asks per step: SPC cross pairs of 7/5/3 levels + the 4×4 scale view. */
function benchSpc(B: number, C: number) {
  const on = tf.randomNormal([B, 7, 7, C]) as tf.Tensor4D;
  const tg = tf.randomNormal([B, 7, 7, C]) as tf.Tensor4D;
  const small = tf.randomNormal([B, 4, 4, C]) as tf.Tensor4D;
  const vx = tf.randomNormal([B, C]) as tf.Tensor2D;
  const vy = tf.randomNormal([B, C]) as tf.Tensor2D;
  const opts: EmdLossOptions = { ...DEFAULT_PRETRAIN_CONFIG.emd };
  const flat = (t: tf.Tensor4D) => tf.reshape(t, [B, t.shape[1] * t.shape[2], C]) as tf.Tensor3D;
  const run = () =>
    tf.tidy(() => {
      const g = tf.grads((a: tf.Tensor, s: tf.Tensor) => {
        const tgLevels = spatialPyramid(tg, DEFAULT_PRETRAIN_CONFIG.emd.spcGrids);
        const pairs = pyramidPairs(
          spatialPyramid(a as tf.Tensor4D, DEFAULT_PRETRAIN_CONFIG.emd.spcGrids),
          tgLevels,
          'cross',
        );
        for (const l of tgLevels) pairs.push([s as tf.Tensor4D, l]);
        const terms = pairs.map(([p, q]) => emdLoss(flat(p), flat(q), vx, vy, opts).loss);
        return tf.mean(tf.stack(terms));
      })([on, small]);
      g.forEach((t) => t.dataSync());
    });
  run();
  run();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < Math.max(3, Math.floor(reps / 2)); i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    run();
    const c1 = process.cpuUsage(c0);
    wall.push(performance.now() - t0);
    cpu.push((c1.user + c1.system) / 1000);
  }
  const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
  console.log(
    `SPC step B=${B} C=${C}: 9 cross level pairs (49/25/9 nodes) + 3 scale-view pairs (16 nodes), forward+backward: ` +
      `wall median ${median(wall).toFixed(1)} ms (min ${Math.min(...wall).toFixed(1)}), CPU median ${median(cpu).toFixed(1)} ms (min ${Math.min(...cpu).toFixed(1)})`,
  );
  tf.dispose([on, tg, small, vx, vy]);
}

calibrate();
bench(64, 49, 49, 256, 'per-pair');
bench(64, 49, 16, 256, 'per-pair');
bench(64, 49, 49, 256, 'batched');
bench(64, 49, 49, 256, 'per-pair', false);
benchSpc(64, 256);
calibrate();
