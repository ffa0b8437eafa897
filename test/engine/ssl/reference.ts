/**
 * Plain-JS Float64 references for the EMD pipeline (tests only): written from the paper's equations
 * directly, loop by loop, so the TF.js code is checked against an independent implementation.
 */
export interface RefEmdOptions {
  lambda: number;
  iterations: number;
  marginals: 'global-vector' | 'mean-feature';
  marginalEpsilon: number;
}

/** Sinkhorn–Knopp on one problem: u = 1; T × (v ← r / Ku, u ← c / Kᵀv); π = diag(v) K diag(u). K row-major n × m. */
export function sinkhornRef(
  K: ArrayLike<number>,
  r: ArrayLike<number>,
  c: ArrayLike<number>,
  n: number,
  m: number,
  T: number,
): Float64Array {
  const u = new Float64Array(m).fill(1);
  const v = new Float64Array(n);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < m; j++) s += K[i * m + j] * u[j];
      v[i] = r[i] / s;
    }
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += K[i * m + j] * v[i];
      u[j] = c[j] / s;
    }
  }
  const plan = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) plan[i * m + j] = v[i] * K[i * m + j] * u[j];
  return plan;
}

const dot = (a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, len: number) => {
  let s = 0;
  for (let k = 0; k < len; k++) s += a[ao + k] * b[bo + k];
  return s;
};
const norm = (a: ArrayLike<number>, o: number, len: number) => Math.sqrt(dot(a, o, a, o, len));

/** cos(x_i, y_j) for one pair: x n × C, y m × C (row-major, offsets into batch arrays). */
export function cosRef(
  x: ArrayLike<number>,
  xo: number,
  y: ArrayLike<number>,
  yo: number,
  n: number,
  m: number,
  C: number,
): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++)
      out[i * m + j] =
        dot(x, xo + i * C, y, yo + j * C, C) / (norm(x, xo + i * C, C) * norm(y, yo + j * C, C));
  return out;
}

/** (max(cos(node_i, ref), 0) + ε) / Σ, for nodes count × C and a reference vector of length C. */
export function weightsRef(
  nodes: ArrayLike<number>,
  no: number,
  count: number,
  ref: ArrayLike<number>,
  C: number,
  eps: number,
): Float64Array {
  const w = new Float64Array(count);
  const rn = norm(ref, 0, C);
  let total = 0;
  for (let i = 0; i < count; i++) {
    w[i] = Math.max(dot(nodes, no + i * C, ref, 0, C) / (norm(nodes, no + i * C, C) * rn), 0) + eps;
    total += w[i];
  }
  for (let i = 0; i < count; i++) w[i] /= total;
  return w;
}

export function meanRef(nodes: ArrayLike<number>, no: number, count: number, C: number): Float64Array {
  const mean = new Float64Array(C);
  for (let i = 0; i < count; i++) for (let k = 0; k < C; k++) mean[k] += nodes[no + i * C + k] / count;
  return mean;
}

export interface RefPair {
  cos: Float64Array;
  r: Float64Array;
  c: Float64Array;
  plan: Float64Array;
  similarity: number;
}

/**
 * The EMD of pair b of x [B,n,C], y [B,m,C], vx, vy [B,C]. `fixed` overrides the marginals and/or the
 * plan (what a stop-gradient holds constant when differentiating by finite differences).
 */
export function emdPairRef(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  vx: ArrayLike<number>,
  vy: ArrayLike<number>,
  b: number,
  n: number,
  m: number,
  C: number,
  opts: RefEmdOptions,
  fixed: { r?: Float64Array; c?: Float64Array; plan?: Float64Array } = {},
): RefPair {
  const xo = b * n * C;
  const yo = b * m * C;
  const cos = cosRef(x, xo, y, yo, n, m, C);
  const slice = (a: ArrayLike<number>, o: number) => Array.from({ length: C }, (_, k) => a[o + k]);
  const refX = opts.marginals === 'global-vector' ? slice(vy, b * C) : meanRef(y, yo, m, C);
  const refY = opts.marginals === 'global-vector' ? slice(vx, b * C) : meanRef(x, xo, n, C);
  const r = fixed.r ?? weightsRef(x, xo, n, refX, C, opts.marginalEpsilon);
  const c = fixed.c ?? weightsRef(y, yo, m, refY, C, opts.marginalEpsilon);
  let plan = fixed.plan;
  if (!plan) {
    const K = new Float64Array(n * m);
    for (let i = 0; i < n; i++) {
      let minCost = Infinity;
      for (let j = 0; j < m; j++) minCost = Math.min(minCost, 1 - cos[i * m + j]);
      for (let j = 0; j < m; j++) K[i * m + j] = Math.exp(-opts.lambda * (1 - cos[i * m + j] - minCost));
    }
    plan = sinkhornRef(K, r, c, n, m, opts.iterations);
  }
  let similarity = 0;
  for (let k = 0; k < n * m; k++) similarity += plan[k] * cos[k];
  return { cos, r, c, plan, similarity };
}

/** mean_b (2 − 2 S_b), with optional per-pair fixed marginals / plans. */
export function emdLossRef(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  vx: ArrayLike<number>,
  vy: ArrayLike<number>,
  B: number,
  n: number,
  m: number,
  C: number,
  opts: RefEmdOptions,
  fixed: { r?: Float64Array; c?: Float64Array; plan?: Float64Array }[] = [],
): number {
  let total = 0;
  for (let b = 0; b < B; b++)
    total += 2 - 2 * emdPairRef(x, y, vx, vy, b, n, m, C, opts, fixed[b]).similarity;
  return total / B;
}

/** Central finite differences of f at p (Float64), step h. */
export function numericGradient(f: (p: Float64Array) => number, p: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(p.length);
  const q = Float64Array.from(p);
  for (let k = 0; k < p.length; k++) {
    q[k] = p[k] + h;
    const fp = f(q);
    q[k] = p[k] - h;
    const fm = f(q);
    q[k] = p[k];
    g[k] = (fp - fm) / (2 * h);
  }
  return g;
}

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomArray(len: number, rand: () => number, lo = -1, hi = 1): Float64Array {
  return Float64Array.from({ length: len }, () => lo + (hi - lo) * rand());
}

/** max |a − b| / max |b|. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let k = 0; k < b.length; k++) {
    num = Math.max(num, Math.abs(a[k] - b[k]));
    den = Math.max(den, Math.abs(b[k]));
  }
  return num / den;
}
