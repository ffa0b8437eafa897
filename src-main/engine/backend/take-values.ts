/**
 * How the engine brings tensors it is done with to the host (detector outputs for proposals,
 * decoding and NMS; weights for export): read with `await tensor.data()` — GPU backends can only be
 * read asynchronously (dataSync throws on webgpu in Node) — and dispose them once read, also when a
 * read fails. The arrays may be the backend's own storage (cpu): copy before changing them.
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
