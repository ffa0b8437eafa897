/**
 * How the detectors bring network outputs to the host (for proposals, decoding and NMS): read with
 * `await tensor.data()` — GPU backends can only be read asynchronously (dataSync throws on webgpu
 * in Node) — and dispose the tensors once read, also when a read fails.
 */
import * as tf from '@tensorflow/tfjs';

export async function takeValues(tensors: readonly tf.Tensor[]): Promise<Float32Array[]> {
  try {
    return await Promise.all(
      tensors.map(async (t) => {
        if (t.dtype !== 'float32')
          throw new Error(`takeValues: expected float32 tensors, got ${t.dtype} [${t.shape}]`);
        return (await t.data()) as Float32Array;
      }),
    );
  } finally {
    tf.dispose([...tensors]);
  }
}
