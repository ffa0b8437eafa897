/**
 * Every EMD term of a training step as one op: all pyramid pairs of both view orders, and the scale
 * view's pairs, with one cosine product per group of maps, one Sinkhorn pass over all transport
 * problems and one closed-form backward. Same loss as the per-pair emd-loss.ts for the
 * default options (plan and marginals detached); tested against it.
 *
 * Why: per pair, emd-loss.ts runs a cosine op, the marginals and ten Sinkhorn iterations as small
 * TF.js ops (~150 kernel calls and as many tape entries); SPC's 9 pairs plus the scale view's 3 made
 * the dense loss ~1.5k kernel calls per step, and on wasm each call costs far more than its
 * arithmetic at these sizes (9 to 49 nodes).
 *
 * How, for a group (online node sets X_a, target node sets Y_b that share a batch):
 * - X = [X_1 … X_A] and Y = [Y_1 … Y_B] concatenated along the node axis; one batched product
 *   cos = X̂·Ŷᵀ holds every block (a, b) at once (with `cross` pairing every block is used, so
 *   nothing is wasted; no padding anywhere).
 * - Marginal similarities come from one small product each: X̂ against the reference vectors
 *   (v̂_y for Eq. 13; the normalised means of the target levels for Eq. 12), Ŷ likewise.
 * - Sinkhorn, K = exp(−λ(M − min_j M_ij)), u = 1, T × (v ← r / max(Ku, floor),
 *   u ← c / max(Kᵀv, floor)), π = diag(v) K diag(u), S = ⟨π, cos⟩, runs by one of two strategies,
 *   chosen by the backend's capability (backend/capabilities.ts), not its name:
 *   where host reads are cheap (wasm, cpu), in JS on each block, Float64, in place
 *   (dense-transport-host.ts); on a GPU, as one padded batched tensor Sinkhorn over all blocks on
 *   the device (dense-transport-device.ts), with no read to the host.
 * - With the plan and marginals constant, ∂L/∂cos = −2 w π / (B Σw) per block, so
 *   ∂L/∂X̂ = G·Ŷ (one batched product) and ∂L/∂X = (∂L/∂X̂ − ⟨∂L/∂X̂, x̂⟩ x̂) / ‖x‖ per node.
 * Identical pyramid levels (a grid ≥ the map: the level is the map itself) are the same tensor, so
 * callers pass each distinct level once and weight its pairs by multiplicity (spatial-pyramid.ts
 * `distinctLevels`): at 96 px all three levels of a 3×3 map are the map, and 9 pairs become 1.
 */
import * as tf from '@tensorflow/tfjs';
import type { MarginalKind } from '../../../shared/config/pretrain';
import { hostReadsAreCheap } from '../backend/capabilities';
import { transportOnDevice } from './dense-transport-device';
import { transportOnHost } from './dense-transport-host';
import { NORM_EPSILON } from './l2-normalize';

export interface DenseEmdOptions {
  lambda: number;
  iterations: number;
  marginals: MarginalKind;
  marginalEpsilon: number;
}

export interface DenseEmdBlock {
  /** Index into the group's online levels. */
  a: number;
  /** Index into the group's target levels. */
  b: number;
  /** Weight in the mean over blocks (pair multiplicity). */
  weight: number;
}

export interface DenseEmdGroup {
  /** Online node sets [B, n_a, C]; the loss is differentiated with respect to these. */
  online: tf.Tensor3D[];
  /** Target node sets [B, m_b, C]: constants (no gradient is computed for them). */
  target: tf.Tensor3D[];
  /** Global vectors read by the Eq. 13 marginals: vOnline for the target's weights, vTarget for the online's. */
  vOnline: tf.Tensor2D;
  vTarget: tf.Tensor2D;
  blocks: DenseEmdBlock[];
}

export interface DenseEmdResult {
  /** Σ_blocks w · mean_batch(2 − 2S) / Σ w. */
  loss: tf.Scalar;
}

function check(groups: DenseEmdGroup[], opts: DenseEmdOptions): void {
  if (!(opts.lambda > 0)) throw new Error(`dense-emd.ts: emd.lambda must be > 0, got ${opts.lambda}`);
  if (!Number.isInteger(opts.iterations) || opts.iterations < 1)
    throw new Error(`dense-emd.ts: emd.iterations must be a positive integer, got ${opts.iterations}`);
  if (!(opts.marginalEpsilon > 0))
    throw new Error(`dense-emd.ts: emd.marginalEpsilon must be > 0, got ${opts.marginalEpsilon}`);
  if (groups.length === 0 || groups.every((g) => g.blocks.length === 0))
    throw new Error('dense-emd.ts: no EMD pairs to compare');
  for (const g of groups) {
    const all = [...g.online, ...g.target];
    const [b, , c] = all[0].shape;
    for (const t of all)
      if (t.rank !== 3 || t.shape[0] !== b || t.shape[2] !== c)
        throw new Error(
          `dense-emd.ts: node sets must be [B,n,C] with one B and C per group, got [${t.shape}] with [${all[0].shape}]`,
        );
    for (const v of [g.vOnline, g.vTarget])
      if (v.rank !== 2 || v.shape[0] !== b || v.shape[1] !== c)
        throw new Error(`dense-emd.ts: global vectors must be [${b},${c}], got [${v.shape}]`);
    for (const k of g.blocks)
      if (!(k.a >= 0 && k.a < g.online.length && k.b >= 0 && k.b < g.target.length && k.weight > 0))
        throw new Error(`dense-emd.ts: bad block ${JSON.stringify(k)}`);
  }
}

const starts = (ts: tf.Tensor3D[]) => {
  const out: number[] = [];
  let s = 0;
  for (const t of ts) {
    out.push(s);
    s += t.shape[1];
  }
  return { starts: out, total: s };
};

/**
 * Unit rows x / max(‖x‖, ε) (torch's F.normalize), 1 / max(‖x‖, ε) [.., 1], and `live` = 1 where
 * the norm was not floored (there the normalisation is x/ε, linear, and its gradient has no
 * projection term).
 */
function normalise(t: tf.Tensor3D): { unit: tf.Tensor3D; inv: tf.Tensor3D; live: tf.Tensor3D } {
  const sq = tf.sum(tf.square(t), 2, true);
  const floor = NORM_EPSILON * NORM_EPSILON;
  const inv = tf.rsqrt(tf.maximum(sq, floor)) as tf.Tensor3D;
  return { unit: tf.mul(t, inv), inv, live: tf.cast(tf.greater(sq, floor), 'float32') as tf.Tensor3D };
}

/** Reference vectors [B, R, C], unit length, that a set of nodes is weighted against. */
function references(kind: MarginalKind, global: tf.Tensor2D, levels: tf.Tensor3D[]): tf.Tensor3D {
  const vs = kind === 'global-vector' ? [global] : levels.map((l) => tf.mean(l, 1) as tf.Tensor2D);
  return normalise(tf.stack(vs, 1) as tf.Tensor3D).unit;
}

/** One transport problem: rows r0…r0+na and columns c0…c0+mb of a group's cosine matrix. */
export interface TransportBlock {
  r0: number;
  na: number;
  c0: number;
  mb: number;
  /** Which reference column of sx (for the rows' marginal) and of sy (the columns'). */
  rx: number;
  ry: number;
  /** weight / Σ weights: the block's share of the loss. */
  share: number;
  /** ∂L/∂cos = coef · π on the block: −2 · weight / (B · Σ weights). */
  coef: number;
}

/** What a transport strategy gets for one group: cos [B,n,m], sx [B,n,Rx], sy [B,m,Ry], all on the backend. */
export interface TransportInput {
  cos: tf.Tensor3D;
  sx: tf.Tensor3D;
  sy: tf.Tensor3D;
  blocks: TransportBlock[];
  opts: DenseEmdOptions;
}

/**
 * The group's share of the loss (a JS number from the host strategy, summed in Float64 across groups
 * as before; a scalar tensor from the device one), and G = ∂L/∂cos [B,n,m] (coef·π on each block).
 */
export interface TransportOutput {
  loss: number | tf.Scalar;
  grad: tf.Tensor3D;
}

/**
 * Host Sinkhorn where reading to JS is cheap (wasm, cpu: one read of the matrices, then Float64
 * loops), device Sinkhorn elsewhere (a GPU must not wait for a read every step).
 */
function transportStrategy(): (input: TransportInput) => TransportOutput {
  return hostReadsAreCheap() ? transportOnHost : transportOnDevice;
}

function sumLosses(losses: (number | tf.Scalar)[]): tf.Scalar {
  if (losses.every((l) => typeof l === 'number')) return tf.scalar(losses.reduce((a, b) => a + b, 0));
  const ts = losses.map((l) => (typeof l === 'number' ? tf.scalar(l) : l));
  const value = ts.length === 1 ? ts[0] : (tf.addN(ts) as tf.Scalar);
  if (ts.length > 1) tf.dispose(ts);
  return value;
}

/** The dense EMD loss over every block of every group (module header). */
export function denseEmdLoss(groups: DenseEmdGroup[], opts: DenseEmdOptions): DenseEmdResult {
  check(groups, opts);
  const inputs = groups.flatMap((g) => g.online);
  const totalWeight = groups.reduce((s, g) => s + g.blocks.reduce((t, k) => t + k.weight, 0), 0);
  const transport = transportStrategy();

  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const keep: tf.Tensor[] = [];
    const losses: (number | tf.Scalar)[] = [];
    let at = 0;
    for (const g of groups) {
      const online = args.slice(at, at + g.online.length) as tf.Tensor3D[];
      at += g.online.length;
      const rows = starts(online);
      const colsInfo = starts(g.target);
      const [batch] = online[0].shape;
      const { cosT, sx, sy, unitX, invX, liveX, unitY } = tf.tidy(() => {
        const X = online.length === 1 ? online[0] : (tf.concat(online, 1) as tf.Tensor3D);
        const Y = g.target.length === 1 ? g.target[0] : (tf.concat(g.target, 1) as tf.Tensor3D);
        const nx = normalise(X);
        const ny = normalise(Y);
        const yT = tf.transpose(ny.unit, [0, 2, 1]);
        // Marginal similarities: online nodes against the target's references and vice versa.
        const refForX = references(opts.marginals, g.vTarget, g.target);
        const refForY = references(opts.marginals, g.vOnline, online);
        return {
          cosT: tf.matMul(nx.unit, yT) as tf.Tensor3D,
          sx: tf.matMul(nx.unit, tf.transpose(refForX, [0, 2, 1])) as tf.Tensor3D,
          sy: tf.matMul(ny.unit, tf.transpose(refForY, [0, 2, 1])) as tf.Tensor3D,
          unitX: nx.unit,
          invX: nx.inv,
          liveX: nx.live,
          unitY: ny.unit,
        };
      });
      const blocks = g.blocks.map((k) => ({
        r0: rows.starts[k.a],
        na: online[k.a].shape[1],
        c0: colsInfo.starts[k.b],
        mb: g.target[k.b].shape[1],
        // Eq. 13: one reference per side; Eq. 12: the other side's level mean (one per level).
        rx: opts.marginals === 'global-vector' ? 0 : k.b,
        ry: opts.marginals === 'global-vector' ? 0 : k.a,
        share: k.weight / totalWeight,
        coef: (-2 * k.weight) / (batch * totalWeight),
      }));
      const out = transport({ cos: cosT, sx, sy, blocks, opts });
      tf.dispose([cosT, sx, sy]);
      losses.push(out.loss);
      keep.push(out.grad, unitX, invX, liveX, unitY);
    }
    save(keep);
    tf.dispose(keep);
    const value = sumLosses(losses);
    return {
      value,
      gradFunc: (dy: tf.Scalar, saved: tf.Tensor[]) => {
        const grads: tf.Tensor[] = [];
        groups.forEach((g, gi) => {
          const [G, unitX, invX, liveX, unitY] = saved.slice(5 * gi, 5 * gi + 5) as tf.Tensor3D[];
          const dX = tf.tidy(() => {
            const dUnit = tf.matMul(tf.mul(G, dy), unitY);
            const along = tf.mul(tf.sum(tf.mul(dUnit, unitX), 2, true), liveX);
            return tf.mul(tf.sub(dUnit, tf.mul(along, unitX)), invX) as tf.Tensor3D;
          });
          const sizes = g.online.map((t) => t.shape[1]);
          if (sizes.length === 1) grads.push(dX);
          else {
            grads.push(...tf.split(dX, sizes, 1));
            dX.dispose();
          }
        });
        return grads;
      },
    };
  });
  return { loss: op(...inputs) as tf.Scalar };
}
