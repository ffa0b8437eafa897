/**
 * A linear softmax classifier on fixed features, fitted full-batch: the features are standardised
 * with the training set's mean and standard deviation, then softmax cross-entropy plus
 * `weightDecay`·‖W‖² (no decay on the bias) is minimised by Nesterov's accelerated gradient with the
 * step 1/L, L the loss's smoothness bound (½ λmax of the augmented features' second moment, by power
 * iteration, plus the decay's). The problem is convex and starts from zero weights, so the fit is
 * deterministic and needs no tuning; every value leaves the device with `await t.data()` only.
 */
import * as tf from '@tensorflow/tfjs';

export interface LinearProbeOptions {
  /** Full-batch gradient steps. */
  steps: number;
  /** Coefficient of ‖W‖² added to the mean cross-entropy. */
  weightDecay: number;
}

export const DEFAULT_LINEAR_PROBE: LinearProbeOptions = { steps: 300, weightDecay: 1e-3 };

/** Power-iteration rounds for λmax: the step only needs it within a few per cent. */
const POWER_ITERATIONS = 30;
/** A feature whose training spread is below this is constant: it is centred, not scaled. */
const MIN_STD = 1e-6;

/** Per-feature standardisation fitted on a training set. */
export interface Standardiser {
  mean: tf.Tensor1D;
  std: tf.Tensor1D;
}

export function fitStandardiser(x: tf.Tensor2D): Standardiser {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, 0);
    const sd = tf.sqrt(variance);
    return {
      mean: mean as tf.Tensor1D,
      std: tf.where(tf.greater(sd, MIN_STD), sd, tf.onesLike(sd)) as tf.Tensor1D,
    };
  });
}

export function standardise(s: Standardiser, x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(tf.sub(x, s.mean), s.std) as tf.Tensor2D);
}

/** [x, 1]: the bias as one more weight row. */
function withBias(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.concat([x, tf.ones([x.shape[0], 1])], 1) as tf.Tensor2D);
}

/**
 * Fits W ([d + 1, classes], the last row the bias) on standardised features `z` ([n, d]) with
 * labels in 0..classes−1. The caller owns the returned tensor.
 */
export async function fitLinearClassifier(
  z: tf.Tensor2D,
  labels: Int32Array,
  classes: number,
  options: LinearProbeOptions = DEFAULT_LINEAR_PROBE,
): Promise<tf.Tensor2D> {
  const n = z.shape[0];
  const d = z.shape[1] + 1;
  if (n !== labels.length) throw new Error(`linear probe: ${n} feature rows for ${labels.length} labels`);
  if (n === 0) throw new Error('linear probe: no training samples');
  const x = withBias(z);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), classes).toFloat());
  // Decay on the weight rows, not on the bias row.
  const decayMask = tf.tidy(() => tf.concat([tf.ones([d - 1, 1]), tf.zeros([1, 1])], 0));

  // λmax(XᵀX / n) by power iteration from a fixed start (deterministic).
  const lambdaMax = tf.tidy(() => {
    const gram = tf.div(tf.matMul(x, x, true, false), n) as tf.Tensor2D;
    let v = tf.div(tf.ones([d, 1]), Math.sqrt(d)) as tf.Tensor2D;
    for (let i = 0; i < POWER_ITERATIONS; i++) {
      const gv = tf.matMul(gram, v);
      v = tf.div(gv, tf.maximum(tf.norm(gv), 1e-12)) as tf.Tensor2D;
    }
    return tf.sum(tf.mul(v, tf.matMul(gram, v)));
  });
  const lambda = (await lambdaMax.data())[0]!;
  lambdaMax.dispose();
  const lr = 1 / (0.5 * Math.max(lambda, 1e-6) + 2 * options.weightDecay);

  const gradient = (w: tf.Tensor2D) =>
    tf.tidy(() => {
      const p = tf.softmax(tf.matMul(x, w));
      const g = tf.div(tf.matMul(x, tf.sub(p, y), true, false), n);
      return tf.add(g, tf.mul(tf.mul(w, decayMask), 2 * options.weightDecay)) as tf.Tensor2D;
    });

  let w = tf.zeros([d, classes]) as tf.Tensor2D;
  let look = tf.clone(w);
  for (let t = 0; t < options.steps; t++) {
    const next = tf.tidy(() => tf.sub(look, tf.mul(gradient(look), lr)) as tf.Tensor2D);
    const momentum = t / (t + 3);
    const nextLook = tf.tidy(() => tf.add(next, tf.mul(tf.sub(next, w), momentum)) as tf.Tensor2D);
    tf.dispose([w, look]);
    w = next;
    look = nextLook;
  }
  tf.dispose([look, x, y, decayMask]);
  return w;
}

/** Arg-max class of each row of standardised features `z` under W. */
export async function predictLinear(w: tf.Tensor2D, z: tf.Tensor2D): Promise<Int32Array> {
  const pred = tf.tidy(() => tf.argMax(tf.matMul(withBias(z), w), 1));
  const out = Int32Array.from(await pred.data());
  pred.dispose();
  return out;
}

/** Fraction of `predicted` equal to `labels`. */
export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (labels.length === 0) return NaN;
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) right++;
  return right / labels.length;
}
