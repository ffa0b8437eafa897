/**
 * The marginal weights on the host, from similarities already computed on the backend:
 * w_i = (max(s_i, 0) + ε) / Σ_k (max(s_k, 0) + ε). The same formula as marginals.ts (the tensor form,
 * which the device strategy and the per-pair loss use); this is the host strategy's copy of the last
 * step only, over Float64, written into `out`.
 */
export function marginalHost(
  sims: Float32Array,
  offset: number,
  stride: number,
  count: number,
  epsilon: number,
  out: Float64Array,
): void {
  let sum = 0;
  for (let i = 0; i < count; i++) sum += out[i] = Math.max(sims[offset + i * stride], 0) + epsilon;
  for (let i = 0; i < count; i++) out[i] /= sum;
}
