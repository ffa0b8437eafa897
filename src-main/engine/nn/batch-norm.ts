/**
 * Batch normalisation over NHWC maps (or [N, C] vectors), training and inference forms.
 * Training mode returns the batch moments so the caller can update running statistics
 * outside the gradient tape (torchvision semantics: unbiased variance for running_var).
 *
 * Both forms carry a closed-form gradient (tf.customGrad): core's batch-norm gradient broadcasts
 * with Tile and reduces with transposing Sums, ~40% of a ResNet-18 step on wasm. Here, with
 * x̂ = (x − μ)/σ, σ = √(var + ε) and sums over every axis but the channel axis (M elements):
 *   training:  dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)),  dγ = Σ dy·x̂,  dβ = Σ dy
 *   inference: dx = γ/σ · dy (running statistics are constants), same dγ, dβ.
 * In training mode every full-size pass is a per-channel mean (one average pooling over the whole
 * tensor) or a per-channel affine map (a 1×1 depthwise convolution with bias): see channel-ops.ts
 * for why, and what they replaced (a ones·x GEMM and the FusedBatchNorm kernel, ~10× slower on
 * wasm). Inference keeps tf.batchNorm's (x − μ)/σ form for its forward (see batchNormInfer).
 * The forward is one affine pass y = x·(γ/σ) + (β − μγ/σ) after the two moment passes; the
 * backward recomputes x̂ (one pass) rather than keeping it from the forward, so the tape holds
 * x only, as before.
 * On wasm, training mode runs the same arithmetic as two backend kernels (forward and gradient,
 * backend/kernels/batch-norm-train.ts): one engine op per direction instead of ~17 and ~20, which
 * is most of a batch norm's cost on the small maps of late stages and heads.
 */
import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from '../backend/kernels/batch-norm-train';
import { channelAffine, channelMean } from './channel-ops';

export interface BatchNormTrainResult<R extends tf.Rank> {
  y: tf.Tensor<R>;
  /** Batch mean per channel. Carries no gradient. */
  mean: tf.Tensor1D;
  /** Biased batch variance per channel (divided by M). Carries no gradient. */
  variance: tf.Tensor1D;
}

/** Whether the active backend has the training-mode kernels (wasm does: backend/wasm-kernels.ts). */
function trainKernelAvailable(): boolean {
  return tf.getKernel(BATCH_NORM_TRAIN, tf.getBackend()) !== undefined;
}

let gradientRegistered = false;
function registerTrainGradient(): void {
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAIN,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true, true],
    // dy holds one entry per output; the moments pass no gradient, so only dy[0] is read. The
    // three gradients come from one kernel call, made here rather than in the per-input thunks:
    // autodiff runs each thunk in its own tidy, which would dispose the other two.
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: tf.NamedAttrMap) => {
      const [x, gamma, mean, variance] = saved;
      const dyY = Array.isArray(dy) ? dy[0] : dy;
      const [dx, dGamma, dBeta] = tf
        .engine()
        .runKernel(BATCH_NORM_TRAIN_GRAD, { dy: dyY, x, gamma, mean, variance }, attrs) as tf.Tensor[];
      return { x: () => dx, gamma: () => dGamma, beta: () => dBeta };
    },
  });
}

export function batchNormTrain<R extends tf.Rank>(
  x: tf.Tensor<R>,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon = 1e-5,
): BatchNormTrainResult<R> {
  const c = checkShapes('batchNormTrain', x, gamma, beta);
  if (trainKernelAvailable()) {
    registerTrainGradient();
    const [y, mean, variance] = tf
      .engine()
      .runKernel(BATCH_NORM_TRAIN, { x, gamma, beta }, { epsilon }) as tf.Tensor[];
    return { y: y as tf.Tensor<R>, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  const stats = batchMoments(x);
  const [mean, variance] = tf.unstack(stats) as [tf.Tensor1D, tf.Tensor1D];
  const forward = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, g, b, save] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    // The moments come in by closure, not as inputs: no gradient flows into them. They are saved
    // because the caller's tidy may dispose them before the backward pass runs.
    save([xIn, g, mean, variance]);
    const rstd = tf.rsqrt(tf.add(variance, epsilon)) as tf.Tensor1D;
    const scale = tf.mul(g, rstd) as tf.Tensor1D;
    const value = channelAffine(xIn, scale, tf.sub(b, tf.mul(mean, scale)) as tf.Tensor1D);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [xs, gs, mu, v] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
      const m = xs.size / c;
      const r = tf.rsqrt(tf.add(v, epsilon)) as tf.Tensor1D;
      const xhat = channelAffine(xs, r, tf.neg(tf.mul(mu, r)) as tf.Tensor1D);
      const meanDy = channelMean(dy);
      const meanDyXhat = channelMean(tf.mul(dy, xhat));
      const s = tf.mul(gs, r) as tf.Tensor1D;
      // dx = s·dy − s·mean(dy) − s·mean(dy·x̂)·x̂: two affine passes and an add.
      const dx = tf.add(
        channelAffine(dy, s, tf.neg(tf.mul(s, meanDy)) as tf.Tensor1D),
        channelAffine(xhat, tf.neg(tf.mul(s, meanDyXhat)) as tf.Tensor1D),
      );
      return [dx, tf.mul(meanDyXhat, m), tf.mul(meanDy, m)];
    };
    return { value, gradFunc };
  });
  const y = forward(x, gamma, beta) as tf.Tensor<R>;
  return { y, mean, variance };
}

export function batchNormInfer<R extends tf.Rank>(
  x: tf.Tensor<R>,
  runningMean: tf.Tensor1D,
  runningVar: tf.Tensor1D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon = 1e-5,
): tf.Tensor<R> {
  const c = checkShapes('batchNormInfer', x, gamma, beta);
  const forward = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, g, b, save] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    save([xIn, g, runningMean, runningVar]);
    // (x − μ)·γ/σ + β as tf.batchNorm computes it, not x·s + (β − μs): with running statistics
    // |μ| can be ≫ σ, and the exported TF.js layers model (Keras BatchNormalization) must agree.
    const value = tf.batchNorm(xIn, runningMean, runningVar, b as tf.Tensor1D, g as tf.Tensor1D, epsilon);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [xs, gs, mu, v] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
      const m = xs.size / c;
      const r = tf.rsqrt(tf.add(v, epsilon)) as tf.Tensor1D;
      const xhat = channelAffine(xs, r, tf.neg(tf.mul(mu, r)) as tf.Tensor1D);
      const dx = channelAffine(dy, tf.mul(gs, r) as tf.Tensor1D);
      return [dx, tf.mul(channelMean(tf.mul(dy, xhat)), m), tf.mul(channelMean(dy), m)];
    };
    return { value, gradFunc };
  });
  return forward(x, gamma, beta) as tf.Tensor<R>;
}

/** [mean; biased variance] per channel as a [2, C] tensor that passes no gradient back to x. */
function batchMoments(x: tf.Tensor): tf.Tensor2D {
  // A zero gradient (rather than no input at all) so that differentiating through the moments
  // gives zeros, not an error. In a training step the moments only reach the loss through the
  // running statistics, off the tape, so this node is pruned and the zeros are never made.
  const moments = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xIn = args[0] as tf.Tensor;
    const mean = channelMean(xIn);
    // Two passes, (x − μ)² rather than E[x²] − μ²: conv outputs can have |μ| ≫ σ.
    const variance = channelMean(tf.squaredDifference(xIn, mean));
    return { value: tf.stack([mean, variance]) as tf.Tensor2D, gradFunc: () => [tf.zerosLike(xIn)] };
  });
  return moments(x) as tf.Tensor2D;
}

function checkShapes(fn: string, x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): number {
  if (x.rank !== 4 && x.rank !== 2) {
    throw new Error(`${fn}: x must be NHWC (rank 4) or [N, C] (rank 2), got shape [${x.shape}]`);
  }
  const c = x.shape[x.rank - 1];
  if (gamma.rank !== 1 || gamma.shape[0] !== c || beta.rank !== 1 || beta.shape[0] !== c) {
    throw new Error(
      `${fn}: gamma [${gamma.shape}] and beta [${beta.shape}] must be [${c}] for x [${x.shape}]`,
    );
  }
  return c;
}
