/**
 * k-nearest-neighbour classification on fixed features (the SSL literature's second probe: no
 * fitting at all): cosine similarity to every training row, the k most similar vote with weight
 * exp(similarity / T) (InstDisc / DINO's weighted kNN, T = 0.07), the heaviest class wins.
 */
import * as tf from '@tensorflow/tfjs';

export interface KnnOptions {
  k: number;
  temperature: number;
}

export const DEFAULT_KNN: KnnOptions = { k: 20, temperature: 0.07 };

/** Query rows per similarity matrix: bounds memory on large val sets. */
const CHUNK = 1024;

function unitRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D);
}

/** Predicted class of each row of `query` from the labelled rows of `train` (same feature space). */
export async function knnPredict(
  train: tf.Tensor2D,
  trainLabels: Int32Array,
  query: tf.Tensor2D,
  classes: number,
  options: KnnOptions = DEFAULT_KNN,
): Promise<Int32Array> {
  const n = train.shape[0];
  if (n === 0) throw new Error('kNN probe: no training samples');
  const k = Math.min(options.k, n);
  const bank = unitRows(train);
  const out = new Int32Array(query.shape[0]);
  const votes = new Float64Array(classes);
  try {
    for (let start = 0; start < query.shape[0]; start += CHUNK) {
      const rows = Math.min(CHUNK, query.shape[0] - start);
      const top = tf.tidy(() => {
        const q = unitRows(tf.slice(query, [start, 0], [rows, -1]));
        return tf.topk(tf.matMul(q, bank, false, true), k);
      });
      const [sims, idx] = await Promise.all([top.values.data(), top.indices.data()]);
      tf.dispose([top.values, top.indices]);
      for (let r = 0; r < rows; r++) {
        votes.fill(0);
        for (let j = 0; j < k; j++)
          votes[trainLabels[idx[r * k + j]!]!]! += Math.exp((sims[r * k + j]! - 1) / options.temperature);
        let best = 0;
        for (let c = 1; c < classes; c++) if (votes[c]! > votes[best]!) best = c;
        out[start + r] = best;
      }
    }
  } finally {
    bank.dispose();
  }
  return out;
}
