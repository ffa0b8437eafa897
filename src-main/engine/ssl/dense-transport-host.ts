/**
 * The dense EMD's transport problems on the host (the strategy where host reads are cheap: wasm,
 * cpu, tfjs-node): the cosine and similarity matrices are read into JS once, each block's problem
 * is solved in Float64 (sinkhorn-host.ts), and the plan comes back as one gradient tensor.
 * On wasm the reads come straight from the heap (wasm-io.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { TransportInput, TransportOutput } from './dense-emd';
import { marginalHost } from './marginals-host';
import { gibbsKernelHost, sinkhornHost } from './sinkhorn-host';
import { copyInto } from './wasm-io';

/** Scratch reused across calls (grown to the largest size seen). */
const pool = new Map<string, Float32Array | Float64Array>();
function scratch32(key: string, size: number): Float32Array {
  let b = pool.get(key) as Float32Array | undefined;
  if (!b || b.length < size) pool.set(key, (b = new Float32Array(size)));
  return b.subarray(0, size);
}
function scratch64(key: string, size: number): Float64Array {
  let b = pool.get(key) as Float64Array | undefined;
  if (!b || b.length < size) pool.set(key, (b = new Float64Array(size)));
  return b.subarray(0, size);
}

const read = (t: tf.Tensor, key: string) => {
  const out = scratch32(key, t.size);
  copyInto(t, out);
  return out;
};

export function transportOnHost(input: TransportInput): TransportOutput {
  const { cos: cosT, sx, sy, blocks, opts } = input;
  const [batch, n, m] = cosT.shape;
  const cos = read(cosT, 'cos');
  const sxv = read(sx, 'sx');
  const syv = read(sy, 'sy');
  const refsX = sx.shape[2];
  const refsY = sy.shape[2];
  const grad = new Float32Array(batch * n * m);
  let loss = 0;
  for (const k of blocks) {
    const { r0, na, c0, mb } = k;
    const r = scratch64('r', na);
    const c = scratch64('c', mb);
    const K = scratch64('K', na * mb);
    const v = scratch64('v', na);
    const u = scratch64('u', mb);
    let S = 0;
    for (let b = 0; b < batch; b++) {
      marginalHost(sxv, (b * n + r0) * refsX + k.rx, refsX, na, opts.marginalEpsilon, r);
      marginalHost(syv, (b * m + c0) * refsY + k.ry, refsY, mb, opts.marginalEpsilon, c);
      const o = b * n * m + r0 * m + c0;
      gibbsKernelHost(cos, o, m, na, mb, opts.lambda, K);
      sinkhornHost(K, r, c, na, mb, opts.iterations, v, u);
      // S = ⟨π, cos⟩ and coef·π into the gradient, π_ij = v_i K_ij u_j.
      for (let i = 0; i < na; i++) {
        const row = o + i * m;
        const vi = v[i];
        for (let j = 0; j < mb; j++) {
          const p = vi * K[i * mb + j] * u[j];
          S += p * cos[row + j];
          grad[row + j] += k.coef * p;
        }
      }
    }
    loss += k.share * (2 - (2 * S) / batch);
  }
  return { loss, grad: tf.tensor3d(grad, [batch, n, m]) };
}
