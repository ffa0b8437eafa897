/**
 * `threads: 'auto'` for the wasm backend: time a small training-like step with 1 thread and with
 * `candidate` threads and keep the faster, within a 2 s budget. Threads help big convolutions
 * (+18% on a 96 px ResNet-18 step with 2 threads) and hurt graphs of many small ops, so the answer
 * depends on the machine and its load; a measurement beats a rule. When one probe step is too slow
 * for the comparison to fit the budget, the choice is 1 thread.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPoolThreads } from './wasm-threaded';

export interface ThreadChoice {
  threads: number;
  /** How the count was chosen, with the timings, for BackendInfo.threadsChosenBy. */
  how: string;
}

/** A step to time: runs synchronously, disposes what it makes. */
export type ThreadProbe = () => void;

/** Threads must beat one thread by this factor to be chosen (they cost the other helpers' cores). */
const MIN_GAIN = 0.9;

export function chooseWasmThreads(candidate: number, probe?: ThreadProbe, budgetMs = 2000): ThreadChoice {
  const started = performance.now();
  const own = probe ? undefined : convBlockProbe();
  const step = probe ?? own!.step;
  try {
    setWasmPoolThreads(1);
    const warm = time(step); // includes XNNPACK operator creation and heap growth
    const perStep = Math.max(time(step), 1e-3);
    // 2 × reps timed steps + 1 warm-up with the pool of `candidate` threads must fit.
    const reps = Math.min(5, Math.floor((budgetMs - (performance.now() - started)) / perStep / 2.5));
    if (reps < 2) {
      return {
        threads: 1,
        how: `auto: one probe step took ${perStep.toFixed(0)} ms (warm-up ${warm.toFixed(0)} ms), too slow to compare within ${budgetMs} ms; 1 thread`,
      };
    }
    const one = median(Array.from({ length: reps }, () => time(step)));
    const got = setWasmPoolThreads(candidate);
    time(step);
    const many = median(Array.from({ length: reps }, () => time(step)));
    const elapsed = performance.now() - started;
    const chosen = many < MIN_GAIN * one ? got : 1;
    if (chosen === 1) setWasmPoolThreads(1);
    return {
      threads: chosen,
      how:
        `auto: probe step ${one.toFixed(1)} ms with 1 thread, ${many.toFixed(1)} ms with ${got} ` +
        `(median of ${reps}, ${elapsed.toFixed(0)} ms in all) → ${chosen}`,
    };
  } finally {
    own?.dispose();
  }
}

function time(step: ThreadProbe): number {
  const t = performance.now();
  step();
  return performance.now() - t;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Forward and backward of two 3×3 convolutions (32 channels, 4 × 32 × 32) with ReLU and a residual
 * add: the shape of a ResNet stage at small image sizes, ~0.45 GFLOP.
 */
function convBlockProbe(): { step: ThreadProbe; dispose: () => void } {
  const x = tf.randomNormal([4, 32, 32, 32], 0, 1, 'float32', 1);
  const w1 = tf.randomNormal([3, 3, 32, 32], 0, 0.1, 'float32', 2);
  const w2 = tf.randomNormal([3, 3, 32, 32], 0, 0.1, 'float32', 3);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
    const h = tf.relu(tf.conv2d(x as tf.Tensor4D, a as tf.Tensor4D, 1, 'same'));
    return tf.sum(tf.relu(tf.add(tf.conv2d(h, b as tf.Tensor4D, 1, 'same'), x)));
  });
  return {
    step: () =>
      tf.tidy(() => {
        const [ga, gb] = grads([w1, w2]);
        // Reading one value waits for the work (wasm is synchronous, but keep it honest).
        tf.add(ga.sum(), gb.sum()).dataSync();
      }),
    dispose: () => tf.dispose([x, w1, w2]),
  };
}
