/**
 * Sinkhorn–Knopp scaling on the host, in Float64, for one transport problem at a time: the same
 * update order and floors as the tensor form (sinkhorn.ts, which runs on a device), in place and
 * without allocation per problem. The host strategy of the dense EMD (dense-transport-host.ts)
 * uses it where reading the cosines to JS is cheap (wasm, cpu): there ten iterations of a 49×49
 * problem cost far less as a JS loop than as ~60 TF.js kernel calls.
 *
 * Given the Gibbs kernel K [n·m] (row-major), marginals r [n] and c [m] of equal mass, u starts at 1
 * and each iteration does v ← r / max(K u, floor), then u ← c / max(Kᵀ v, floor) (Eq. 8, 9).
 * The plan is π_ij = v_i K_ij u_j (Eq. 7).
 */
import { SINKHORN_FLOOR } from './sinkhorn';

/** K_ij = exp(λ(cos_ij − max_j cos_ij)) = exp(−λ(M_ij − min_j M_ij)) for M = 1 − cos (sinkhorn.ts gibbsKernel). */
export function gibbsKernelHost(
  cos: Float32Array,
  offset: number,
  stride: number,
  n: number,
  m: number,
  lambda: number,
  K: Float64Array,
): void {
  for (let i = 0; i < n; i++) {
    const row = offset + i * stride;
    let best = -Infinity;
    for (let j = 0; j < m; j++) best = Math.max(best, cos[row + j]);
    for (let j = 0; j < m; j++) K[i * m + j] = Math.exp(lambda * (cos[row + j] - best));
  }
}

/** Runs the iterations, leaving the scalings in v [n] and u [m]. */
export function sinkhornHost(
  K: Float64Array,
  r: Float64Array,
  c: Float64Array,
  n: number,
  m: number,
  iterations: number,
  v: Float64Array,
  u: Float64Array,
): void {
  u.fill(1);
  for (let t = 0; t < iterations; t++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      const k = i * m;
      for (let j = 0; j < m; j++) s += K[k + j] * u[j];
      v[i] = r[i] / Math.max(s, SINKHORN_FLOOR);
    }
    for (let j = 0; j < m; j++) u[j] = 0;
    for (let i = 0; i < n; i++) {
      const k = i * m;
      const vi = v[i];
      for (let j = 0; j < m; j++) u[j] += K[k + j] * vi;
    }
    for (let j = 0; j < m; j++) u[j] = c[j] / Math.max(u[j], SINKHORN_FLOOR);
  }
}
