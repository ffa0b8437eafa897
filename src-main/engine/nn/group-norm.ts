/**
 * Group normalisation (Wu & He 2018) over NHWC maps: the C channels are split into G groups of C / G
 * consecutive channels, and each image's group is normalised by its own mean and variance over
 * H × W × C / G, then scaled and shifted per channel by γ and β. The same in training and inference
 * (no batch statistics, no running statistics), which is why a detector head trained at batch 4 uses
 * it (torchvision's RetinaNet v2 head, detectron2's "GN"): nothing depends on the batch.
 *
 * Closed-form gradient (tf.customGrad), as nn/batch-norm.ts does for BN. With x̂ = (x − μ)·r,
 * r = 1/√(var + ε), per image n and group g, and ĝ = dy·γ (per channel), means over the M = H·W·C/G
 * values of (n, g):
 *   dx = r · (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)),  dγ = Σ_{n,h,w} dy·x̂,  dβ = Σ_{n,h,w} dy.
 * Every full-size reduction is a per-image, per-channel mean — one average pooling over H × W
 * (XNNPACK on wasm; the fast form channel-ops.ts measured) — followed by a mean over each group's
 * C / G values on the small [N, C] result; the broadcasts back are [N, 1, 1, C] tensors. Variance is
 * two-pass, mean((x − μ)²): conv outputs can have |μ| ≫ σ.
 */
import * as tf from '@tensorflow/tfjs';
import { channelMean } from './channel-ops';

/** Per-image, per-channel mean over H × W: [N, 1, 1, C]. */
function spatialMean(x: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = x.shape;
  // XNNPACK has no 1×1 pooling, and the mean of one value is the value.
  return h * w === 1 ? x : tf.avgPool(x, [h, w], 1, 'valid');
}

/** [N, 1, 1, C] per-channel values → the mean of each channel's group, broadcast back to [N, 1, 1, C]. */
function groupMean(perChannel: tf.Tensor4D, groups: number): tf.Tensor4D {
  const [n, , , c] = perChannel.shape;
  const grouped = tf.mean(tf.reshape(perChannel, [n, groups, c / groups]), 2, true);
  return tf.reshape(tf.tile(grouped, [1, 1, c / groups]), [n, 1, 1, c]);
}

/** Checks shapes and the group count; returns the channel count. */
function checkGroupNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, groups: number): number {
  if (x.rank !== 4) throw new Error(`groupNorm: expected an NHWC map, got shape [${x.shape}]`);
  const c = x.shape[3]!;
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0)
    throw new Error(`groupNorm: ${groups} groups do not divide ${c} channels`);
  if (gamma.size !== c || beta.size !== c)
    throw new Error(`groupNorm: γ and β need ${c} values, got ${gamma.size} and ${beta.size}`);
  return c;
}

/** GroupNorm(groups, C) of x [N, H, W, C] with per-channel γ, β (torch.nn.GroupNorm's arithmetic). */
export function groupNorm(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  groups: number,
  epsilon = 1e-5,
): tf.Tensor4D {
  checkGroupNorm(x, gamma, beta, groups);
  /** x − μ and r = 1/√(var + ε) per (image, group), broadcast per channel. */
  const centred = (xs: tf.Tensor4D): { d: tf.Tensor4D; r: tf.Tensor4D } => {
    const d = tf.sub(xs, groupMean(spatialMean(xs), groups)) as tf.Tensor4D;
    const variance = groupMean(spatialMean(tf.square(d) as tf.Tensor4D), groups);
    return { d, r: tf.rsqrt(tf.add(variance, epsilon)) as tf.Tensor4D };
  };
  const forward = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, g, b, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    save([xIn, g]);
    const { d, r } = centred(xIn);
    const value = tf.add(tf.mul(d, tf.mul(r, g)), b) as tf.Tensor4D;
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [xs, gs] = saved as [tf.Tensor4D, tf.Tensor1D];
      const dy4 = dy as tf.Tensor4D;
      // x̂ is recomputed rather than kept: the tape holds x only, as batch-norm.ts does.
      const c = centred(xs);
      const xhat = tf.mul(c.d, c.r) as tf.Tensor4D;
      const gHat = tf.mul(dy4, gs) as tf.Tensor4D;
      const meanG = groupMean(spatialMean(gHat), groups);
      const meanGx = groupMean(spatialMean(tf.mul(gHat, xhat) as tf.Tensor4D), groups);
      const dx = tf.mul(c.r, tf.sub(tf.sub(gHat, meanG), tf.mul(xhat, meanGx)));
      const m = dy4.size / dy4.shape[3];
      return [dx, tf.mul(channelMean(tf.mul(dy4, xhat)), m), tf.mul(channelMean(dy4), m)];
    };
    return { value, gradFunc };
  });
  return forward(x, gamma, beta) as tf.Tensor4D;
}
