/** Sinkhorn EMD alone: B pairs of g×g maps, C channels, T iterations, forward + backward. */
import * as tf from '@tensorflow/tfjs';
import { emdLoss } from '../src-main/engine/ssl/emd-loss';
import { DEFAULT_PRETRAIN_CONFIG } from '../shared/config/pretrain';

export async function timeSinkhornEmd(opts: { pairs: number; grid: number; channels: number; iterations: number; repeats: number }) {
  const n = opts.grid * opts.grid;
  const x = tf.variable(tf.randomNormal([opts.pairs, n, opts.channels], 0, 1, 'float32', 3));
  const y = tf.variable(tf.randomNormal([opts.pairs, n, opts.channels], 0, 1, 'float32', 4));
  const vx = tf.randomNormal([opts.pairs, opts.channels], 0, 1, 'float32', 5) as tf.Tensor2D;
  const vy = tf.randomNormal([opts.pairs, opts.channels], 0, 1, 'float32', 6) as tf.Tensor2D;
  const e = { ...DEFAULT_PRETRAIN_CONFIG.emd, iterations: opts.iterations };
  const times: number[] = [];
  for (let i = 0; i < opts.repeats + 1; i++) {
    const t0 = performance.now();
    const { value, grads } = tf.variableGrads(
      () => emdLoss(x as unknown as tf.Tensor3D, y as unknown as tf.Tensor3D, vx, vy, e).loss,
      [x, y],
    );
    await Promise.all([value.data(), ...Object.values(grads).map((g) => g.data())]);
    tf.dispose([value, ...Object.values(grads)]);
    if (i > 0) times.push(performance.now() - t0); // the first call pays for kernel setup
  }
  tf.dispose([x, y, vx, vy]);
  return times;
}
