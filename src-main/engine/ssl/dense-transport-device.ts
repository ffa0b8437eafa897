/**
 * The dense EMD's transport problems on the device (the strategy for GPUs, where reading the cosines
 * to JS every step would stall the device): every block of a group is padded to the group's largest
 * block and all of them go through one batched tensor Sinkhorn (sinkhorn.ts), so the whole EMD costs
 * a fixed number of kernel launches whatever the number of pyramid pairs.
 *
 * Padding is exact, not approximate: padded entries of K are zero (a mask, not a large cost), padded
 * rows and columns get zero marginal mass, so v and u are 0 there (0 / max(0, floor) = 0) and the
 * padded plan entries are exactly 0; the real entries see the same sums as the unpadded problem.
 */
import * as tf from '@tensorflow/tfjs';
import type { TransportInput, TransportOutput } from './dense-emd';
import { normaliseWeights } from './marginals';
import { gibbsKernel, sinkhorn } from './sinkhorn';

export function transportOnDevice(input: TransportInput): TransportOutput {
  const { cos, sx, sy, blocks, opts } = input;
  const [batch, n, m] = cos.shape;
  const N = Math.max(...blocks.map((k) => k.na));
  const M = Math.max(...blocks.map((k) => k.mb));
  return tf.tidy(() => {
    const Ks: tf.Tensor3D[] = [];
    const rs: tf.Tensor2D[] = [];
    const cs: tf.Tensor2D[] = [];
    const cosBlocks: tf.Tensor3D[] = [];
    for (const k of blocks) {
      const padding: [number, number][] = [
        [0, 0],
        [0, N - k.na],
        [0, M - k.mb],
      ];
      const cosK = tf.slice(cos, [0, k.r0, k.c0], [batch, k.na, k.mb]) as tf.Tensor3D;
      const mask = tf.pad(tf.ones([batch, k.na, k.mb]), padding);
      Ks.push(
        tf.mul(
          tf.pad(gibbsKernel(tf.sub(1, cosK) as tf.Tensor3D, opts.lambda), padding),
          mask,
        ) as tf.Tensor3D,
      );
      cosBlocks.push(tf.pad(cosK, padding));
      const simX = tf.reshape(tf.slice(sx, [0, k.r0, k.rx], [batch, k.na, 1]), [batch, k.na]) as tf.Tensor2D;
      const simY = tf.reshape(tf.slice(sy, [0, k.c0, k.ry], [batch, k.mb, 1]), [batch, k.mb]) as tf.Tensor2D;
      rs.push(
        tf.pad(normaliseWeights(simX, opts.marginalEpsilon), [
          [0, 0],
          [0, N - k.na],
        ]),
      );
      cs.push(
        tf.pad(normaliseWeights(simY, opts.marginalEpsilon), [
          [0, 0],
          [0, M - k.mb],
        ]),
      );
    }
    const plan = sinkhorn(
      tf.concat(Ks, 0) as tf.Tensor3D,
      tf.concat(rs, 0) as tf.Tensor2D,
      tf.concat(cs, 0) as tf.Tensor2D,
      opts.iterations,
    );
    // S per block (summed over its batch): padded plan entries are 0.
    const S = tf.sum(
      tf.reshape(tf.sum(tf.mul(plan, tf.concat(cosBlocks, 0)), [1, 2]), [blocks.length, batch]),
      1,
    );
    const shares = tf.tensor1d(blocks.map((k) => k.share));
    const loss = tf.sum(tf.mul(shares, tf.sub(2, tf.mul(S, 2 / batch)))) as tf.Scalar;
    const parts = blocks.map((k, i) =>
      tf.pad(tf.mul(tf.slice(plan, [i * batch, 0, 0], [batch, k.na, k.mb]), k.coef), [
        [0, 0],
        [k.r0, n - k.r0 - k.na],
        [k.c0, m - k.c0 - k.mb],
      ]),
    );
    const grad = (parts.length === 1 ? parts[0] : tf.addN(parts)) as tf.Tensor3D;
    return { loss, grad };
  });
}
