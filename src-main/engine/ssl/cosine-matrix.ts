/**
 * Cosine similarity of every node pair of two maps, per batch item:
 *   cos[b, i, j] = x[b,i]·y[b,j] / (‖x[b,i]‖ ‖y[b,j]‖)      x [B, n, C], y [B, m, C] → [B, n, m]
 *
 * This is the most expensive part of the EMD loss (64 pairs × 49 × 49 × 256 multiply-adds forward,
 * twice that backward), and a batched A·Bᵀ. On the wasm backend a batched or transposed matMul runs
 * a naive loop (~1.6 GFLOP/s forward, slower still for the transposed products of its gradient),
 * while a single plain 2-D matMul goes to XNNPACK. So on wasm (strategy 'per-pair') this is one
 * custom op whose products are one plain 2-D matMul per batch item, forward and backward
 * (wasm-io.ts), on operands read once from the batch tensors (a tf.slice of a wasm tensor reads the
 * whole tensor, so 64 slices would cost 64 full copies). With g = ∂L/∂cos, h_ij = g_ij/(‖x_i‖‖y_j‖),
 * s_i = Σ_j g_ij cos_ij and s'_j = Σ_i g_ij cos_ij:
 *   ∂L/∂x_i = Σ_j h_ij y_j − s_i x_i / ‖x_i‖²      computed as (Yᵀ·Hᵀ − Xᵀ diag(s/‖x‖²))ᵀ
 *   ∂L/∂y_j = Σ_i h_ij x_i − s'_j y_j / ‖y_j‖²     computed as (Xᵀ·H − Yᵀ diag(s'/‖y‖²))ᵀ
 * The transposed products let XNNPACK pack the small [m, n] factor as its weights (it packs the
 * right operand on every call) instead of a [m, C] map. The tape keeps heap copies of x, yᵀ and cos.
 * Measured on wasm (64 pairs 49×49, C = 256, forward + backward, CPU time on a loaded 2-core
 * machine): batched matMul path ~250 ms, this op ~40 ms; the variants without transposes or with
 * the transposes back done in JS were slower. Per-pair also won at every SPC size down to 9×9 nodes
 * (whole EMD loss 9.4 vs 15 ms), so 'auto' needs no size threshold.
 * Other backends (cpu, tfjs-node, webgl) use the plain form, normalise then tf.matMul(x̂, ŷ, false,
 * true), which is fast (or, on cpu, no slower) there; 'batched' forces it on wasm for comparison.
 * Norms are floored at 1e-12 like torch's F.normalize (a zero vector has cosine 0 with everything).
 */
import * as tf from '@tensorflow/tfjs';
import { l2Normalize, NORM_EPSILON } from './l2-normalize';
import { readHostSync } from '../backend/host-read';
import { perPairMatMul, readInto, scratch, wasmHeapBackend } from './wasm-io';

export type CosineStrategy = 'auto' | 'per-pair' | 'batched';

/**
 * 'per-pair' needs a backend whose tensors live on a wasm heap (wasm-io.ts): it calls the backend's
 * own 2-D matMul on heap buffers, and hands scratch buffers to tf.tensor, which wasm copies into its
 * heap but the cpu backend would keep by reference. Elsewhere every strategy means 'batched' (on a
 * GPU, the whole op stays on the device).
 */
export function resolveStrategy(strategy: CosineStrategy): Exclude<CosineStrategy, 'auto'> {
  return strategy !== 'batched' && wasmHeapBackend() !== null ? 'per-pair' : 'batched';
}

/**
 * 1 / max(‖row‖, ε) over the last axis of t, read into JS, and `live` = 0 where the floor was hit
 * (there the norm is a constant, so its gradient term vanishes).
 */
function inverseNorms(t: tf.Tensor3D): { inv: Float32Array; live: Float32Array } {
  const sq = tf.tidy(() => tf.sum(tf.square(t), 2));
  const values = readHostSync(sq);
  sq.dispose();
  const inv = new Float32Array(values.length);
  const live = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const norm = Math.sqrt(values[i]);
    live[i] = norm < NORM_EPSILON ? 0 : 1;
    inv[i] = 1 / Math.max(norm, NORM_EPSILON);
  }
  return { inv, live };
}

const perPairCosine = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, y, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
  const [batch, n, c] = x.shape;
  const m = y.shape[1];
  const nx = inverseNorms(x);
  const ny = inverseNorms(y);
  const yT = tf.transpose(y, [0, 2, 1]);
  const cos = perPairMatMul(
    readInto(x, 'cos.x'),
    readInto(yT, 'cos.yT'),
    batch,
    n,
    c,
    m,
    scratch('cos.out', batch * n * m),
  );
  for (let b = 0; b < batch; b++)
    for (let i = 0; i < n; i++) {
      const o = (b * n + i) * m;
      const sx = nx.inv[b * n + i];
      for (let j = 0; j < m; j++) cos[o + j] *= sx * ny.inv[b * m + j];
    }
  const value = tf.tensor3d(cos, [batch, n, m]);
  // Saved copies live on the wasm heap (a cheap memcpy) and are freed by the engine after backprop;
  // nothing is saved when no gradient is being recorded.
  save([x, yT, value]);
  yT.dispose();
  return {
    value,
    gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
      const [xs, yTs, cosSaved] = saved as tf.Tensor3D[];
      // h = g / (‖x_i‖‖y_j‖) and the norm-term coefficients, as small tensor ops.
      const { hTensor, hTTensor, coefXT, coefYT } = tf.tidy(() => {
        const ix = tf.tensor2d(nx.inv, [batch, n]);
        const iy = tf.tensor2d(ny.inv, [batch, m]);
        const hh = tf.mul(tf.mul(dy, tf.reshape(ix, [batch, n, 1])), tf.reshape(iy, [batch, 1, m]));
        const gc = tf.mul(dy, cosSaved);
        return {
          hTensor: hh,
          hTTensor: tf.transpose(hh, [0, 2, 1]),
          coefXT: tf.mul(tf.sum(gc, 2), tf.mul(tf.square(ix), tf.tensor2d(nx.live, [batch, n]))),
          coefYT: tf.mul(tf.sum(gc, 1), tf.mul(tf.square(iy), tf.tensor2d(ny.live, [batch, m]))),
        };
      });
      const h = readInto(hTensor, 'cos.h');
      const hT = readInto(hTTensor, 'cos.hT');
      const coefX = readHostSync(coefXT);
      const coefY = readHostSync(coefYT);
      tf.dispose([hTensor, hTTensor, coefXT, coefYT]);
      // Transposed products, so that XNNPACK packs the small [m, n] factor as its weights (it packs
      // the right operand on every call) rather than a [m, C] map: (H·Y)ᵀ = Yᵀ·Hᵀ, (Hᵀ·X)ᵀ = Xᵀ·H.
      const dxT = perPairMatMul(
        readInto(yTs, 'cos.yT'),
        hT,
        batch,
        c,
        m,
        n,
        scratch('cos.dxT', batch * c * n),
      );
      const xT = tf.transpose(xs, [0, 2, 1]);
      const dyT = perPairMatMul(readInto(xT, 'cos.xT'), h, batch, c, n, m, scratch('cos.dyT', batch * c * m));
      // ∂L/∂X = (dXᵀ − Xᵀ·diag(coef))ᵀ, in the transposed layout the products came in.
      const grads = tf.tidy(() => {
        const back = (flatT: Float32Array, rows: number, srcT: tf.Tensor3D, coef: Float32Array) =>
          tf.transpose(
            tf.sub(tf.tensor3d(flatT, [batch, c, rows]), tf.mul(srcT, tf.tensor3d(coef, [batch, 1, rows]))),
            [0, 2, 1],
          );
        return [back(dxT, n, xT, coefX), back(dyT, m, yTs, coefY)];
      });
      xT.dispose();
      return grads;
    },
  };
});

/** x [B, n, C], y [B, m, C] → cos [B, n, m]. Differentiable in both. */
export function cosineMatrix(x: tf.Tensor3D, y: tf.Tensor3D, strategy: CosineStrategy = 'auto'): tf.Tensor3D {
  if (x.rank !== 3 || y.rank !== 3 || x.shape[0] !== y.shape[0] || x.shape[2] !== y.shape[2])
    throw new Error(
      `cosine-matrix.ts: expected x [B,n,C] and y [B,m,C] sharing B and C, got [${x.shape}] and [${y.shape}]`,
    );
  if (resolveStrategy(strategy) === 'batched')
    return tf.tidy(() => tf.matMul(l2Normalize(x), l2Normalize(y), false, true));
  return perPairCosine(x, y) as tf.Tensor3D;
}
