/**
 * Per-channel reductions and affine maps over NHWC maps or [M, C] rows, in the forms that run fast
 * on the wasm backend (measured on [32, 48, 48, 32], CPU time, 2-core machine):
 *
 * - channelMean: one average pooling whose window is the whole tensor seen as a single image
 *   ([1, N·H, W, C], window N·H × W): XNNPACK's pooling, ~0.5 ms. The alternatives are much
 *   slower on wasm because the data is new at every call: a ones[1, M]·x[M, C] product (XNNPACK
 *   packs its right operand, the whole map, on each call) ~28 ms; tf.sum over axes [0, 1, 2]
 *   (transposes first) ~11 ms; a JS loop over the heap ~8 ms.
 * - channelAffine: x·a + b per channel as a 1×1 depthwise convolution with bias (XNNPACK),
 *   ~3 ms, where tf.batchNorm's FusedBatchNorm kernel takes ~17 ms and mul + add ~6 ms.
 * Both are plain ops that every backend has, so the same code runs everywhere.
 */
import * as tf from '@tensorflow/tfjs';

/** x as a single NHWC image [1, rows, cols, C] (a reshape: no copy). */
function asImage(x: tf.Tensor): tf.Tensor4D {
  const c = x.shape[x.rank - 1];
  const [n, h, w] = x.shape as number[];
  if (x.rank === 4) return tf.reshape(x, [1, n * h, w, c]);
  if (x.rank === 2) return tf.reshape(x, [1, x.shape[0], 1, c]);
  throw new Error(`channel-ops.ts: expected an NHWC map or [M, C] rows, got shape [${x.shape}]`);
}

/** Mean over every axis but the last: [C]. */
export function channelMean(x: tf.Tensor): tf.Tensor1D {
  const c = x.shape[x.rank - 1];
  return tf.tidy((): tf.Tensor1D => {
    const img = asImage(x);
    const [, h, w] = img.shape;
    // XNNPACK has no 1×1 pooling (and the mean of one value is the value).
    if (h * w === 1) return tf.reshape(x, [c]).clone() as tf.Tensor1D;
    return tf.reshape(tf.avgPool(img, [h, w], 1, 'valid'), [c]) as tf.Tensor1D;
  });
}

/** x·scale + shift per channel (shift optional), in x's shape. */
export function channelAffine<T extends tf.Tensor>(x: T, scale: tf.Tensor1D, shift?: tf.Tensor1D): T {
  const c = x.shape[x.rank - 1];
  return tf.tidy(() => {
    const img = x.rank === 4 ? (x as unknown as tf.Tensor4D) : asImage(x);
    const y = tf.fused.depthwiseConv2d({
      x: img,
      filter: tf.reshape(scale, [1, 1, c, 1]) as tf.Tensor4D,
      strides: 1,
      pad: 'valid',
      bias: shift,
    });
    return (x.rank === 4 ? y : tf.reshape(y, x.shape)) as unknown as T;
  });
}
