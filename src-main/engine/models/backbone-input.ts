/** The one input check every backbone's forward makes (NHWC RGB batches only). */
import type * as tf from '@tensorflow/tfjs';

export function checkImageBatch(backbone: string, x: tf.Tensor): void {
  if (x.rank !== 4 || x.shape[3] !== 3)
    throw new Error(`${backbone}.forward: expected an NHWC batch [N, H, W, 3], got [${x.shape.join(', ')}]`);
}
