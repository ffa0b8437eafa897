/**
 * RoIAlign (He et al. 2017) with detectron2's ROIAlignV2 semantics (aligned = true: a box corner
 * at pixel coordinate x samples at x / stride − 0.5; adaptive sampling grid ceil(bin size) when the
 * sampling ratio is 0; samples outside [−1, size] contribute 0, those in [−1, 0] clamp to the
 * border), differentiable with respect to the feature maps.
 *
 * TF.js has no gradient for cropAndResize, and on wasm tf.gather is both slow and without a
 * gradient kernel, so the op is built from what wasm does fast: the bilinear sampling is a
 * sparse linear map, planned in JS from the (constant) boxes as triples (source row, output row,
 * weight) — duplicates merged — and applied as gatherND → scale → scatterND (which sums duplicate
 * output rows). Its gradient is the transposed map, the same three ops with source and output
 * swapped, supplied with tf.customGrad.
 *
 * The number of (row, weight) triples depends on the boxes' sizes, so it changes every step. Where
 * the backend keeps a buffer per size (webgpu), it is padded to a size class with zero-weight
 * triples (they add exact zeros), and callers pad the RoI count to a fixed one with `numRois`.
 */
import * as tf from '@tensorflow/tfjs';
import { buffersPooledBySize } from '../backend/capabilities';
import { sizeBucket } from '../backend/shape-buckets';
import type { BoxArray } from './boxes';

export interface RoiLevel {
  /** Feature map geometry of one pyramid level. */
  batch: number;
  height: number;
  width: number;
  stride: number;
}

export interface RoiAlignPlan {
  /** Rows of the levels' concatenated [Σ N·H·W, C] matrix. */
  src: Int32Array;
  /** Rows of the [R·P·P, C] output. */
  dst: Int32Array;
  weight: Float32Array;
  /** Output RoIs: the boxes, then any padding RoIs (all zeros; no triple writes to them). */
  numRois: number;
  resolution: number;
  /** Total rows of the concatenated levels (Σ N·H·W). */
  sourceRows: number;
}

/**
 * detectron2's assign_boxes_to_levels: level = floor(canonicalLevel + log2(√area / canonicalBoxSize)),
 * clamped to [minLevel, maxLevel]; returned as an index from 0 (= minLevel).
 */
export function assignLevels(
  boxes: BoxArray,
  minLevel: number,
  maxLevel: number,
  canonicalBoxSize: number,
  canonicalLevel: number,
): Int32Array {
  const n = boxes.length / 4;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const w = boxes[i * 4 + 2]! - boxes[i * 4]!;
    const h = boxes[i * 4 + 3]! - boxes[i * 4 + 1]!;
    const size = Math.sqrt(Math.max(0, w * h));
    const level = Math.floor(canonicalLevel + Math.log2(size / canonicalBoxSize + 1e-8));
    out[i] = Math.min(Math.max(level, minLevel), maxLevel) - minLevel;
  }
  return out;
}

/**
 * Plans RoIAlign of `boxes` (image pixels, xyxy), box i taken from image `batchIndex[i]` of level
 * `levelIndex[i]`, to `resolution`² bins. `numRois` (≥ the boxes) pads the output with zero RoIs.
 */
export function planRoiAlign(
  boxes: BoxArray,
  batchIndex: ArrayLike<number>,
  levelIndex: ArrayLike<number>,
  levels: RoiLevel[],
  resolution: number,
  samplingRatio: number,
  numRois = boxes.length / 4,
): RoiAlignPlan {
  const R = boxes.length / 4;
  if (!Number.isInteger(numRois) || numRois < R)
    throw new Error(`roiAlign: numRois ${numRois} is fewer than the ${R} boxes`);
  const P = resolution;
  const offsets: number[] = [];
  let sourceRows = 0;
  for (const l of levels) {
    offsets.push(sourceRows);
    sourceRows += l.batch * l.height * l.width;
  }
  const src: number[] = [];
  const dst: number[] = [];
  const weight: number[] = [];
  // Per-bin accumulator: source row → weight (a bin touches at most 4·grid² distinct rows).
  const acc = new Map<number, number>();
  for (let r = 0; r < R; r++) {
    const lv = levels[levelIndex[r]!];
    if (!lv)
      throw new Error(
        `roiAlign: box ${r} is assigned to level ${levelIndex[r]}, only ${levels.length} exist`,
      );
    const { height: H, width: W, stride } = lv;
    const b = batchIndex[r]!;
    if (!(b >= 0 && b < lv.batch))
      throw new Error(`roiAlign: box ${r} refers to image ${b} of a batch of ${lv.batch}`);
    const base = offsets[levelIndex[r]!]! + b * H * W;
    const scale = 1 / stride;
    const x1 = boxes[r * 4]! * scale - 0.5;
    const y1 = boxes[r * 4 + 1]! * scale - 0.5;
    const roiW = boxes[r * 4 + 2]! * scale - 0.5 - x1;
    const roiH = boxes[r * 4 + 3]! * scale - 0.5 - y1;
    const binW = roiW / P;
    const binH = roiH / P;
    const gridH = samplingRatio > 0 ? samplingRatio : Math.max(0, Math.ceil(roiH / P));
    const gridW = samplingRatio > 0 ? samplingRatio : Math.max(0, Math.ceil(roiW / P));
    const inv = 1 / Math.max(gridH * gridW, 1);
    for (let ph = 0; ph < P; ph++) {
      for (let pw = 0; pw < P; pw++) {
        acc.clear();
        for (let iy = 0; iy < gridH; iy++) {
          const y = y1 + ph * binH + ((iy + 0.5) * binH) / gridH;
          for (let ix = 0; ix < gridW; ix++) {
            const x = x1 + pw * binW + ((ix + 0.5) * binW) / gridW;
            if (y < -1 || y > H || x < -1 || x > W) continue;
            let yy = y <= 0 ? 0 : y;
            let xx = x <= 0 ? 0 : x;
            let yLow = Math.floor(yy);
            let xLow = Math.floor(xx);
            let yHigh: number;
            let xHigh: number;
            if (yLow >= H - 1) {
              yHigh = yLow = H - 1;
              yy = yLow;
            } else yHigh = yLow + 1;
            if (xLow >= W - 1) {
              xHigh = xLow = W - 1;
              xx = xLow;
            } else xHigh = xLow + 1;
            const ly = yy - yLow;
            const lx = xx - xLow;
            const hy = 1 - ly;
            const hx = 1 - lx;
            const add = (row: number, w: number) => {
              if (w !== 0) acc.set(row, (acc.get(row) ?? 0) + w * inv);
            };
            add(base + yLow * W + xLow, hy * hx);
            add(base + yLow * W + xHigh, hy * lx);
            add(base + yHigh * W + xLow, ly * hx);
            add(base + yHigh * W + xHigh, ly * lx);
          }
        }
        const out = (r * P + ph) * P + pw;
        for (const [row, w] of acc) {
          src.push(row);
          dst.push(out);
          weight.push(w);
        }
      }
    }
  }
  return {
    src: Int32Array.from(src),
    dst: Int32Array.from(dst),
    weight: Float32Array.from(weight),
    numRois,
    resolution: P,
    sourceRows,
  };
}

/** Applies a plan to the levels ([N, H, W, C] each, in plan order): [R, P, P, C]. */
export function roiAlign(levels: tf.Tensor4D[], plan: RoiAlignPlan): tf.Tensor4D {
  const C = levels[0]!.shape[3];
  const rows = levels.reduce((s, l) => s + l.shape[0] * l.shape[1] * l.shape[2], 0);
  if (rows !== plan.sourceRows)
    throw new Error(`roiAlign: the plan expects ${plan.sourceRows} feature rows, the levels have ${rows}`);
  const { numRois: R, resolution: P } = plan;
  const real = plan.src.length;
  // Zero-weight triples (row 0 → row 0) pad the count to a size class where shapes must not vary.
  const E = real > 0 && buffersPooledBySize() ? sizeBucket(real) : real;
  const padded = (a: Int32Array | Float32Array) => {
    if (E === real) return a;
    const out = new (a.constructor as Int32ArrayConstructor | Float32ArrayConstructor)(E);
    out.set(a);
    return out;
  };
  return tf.tidy(() => {
    const flat = tf.concat(
      levels.map((l) => tf.reshape(l, [-1, C])),
      0,
    ) as tf.Tensor2D;
    if (E === 0) return tf.mul(tf.zeros([R, P, P, C]), tf.sum(flat)) as tf.Tensor4D;
    const src = tf.tensor2d(padded(plan.src), [E, 1], 'int32');
    const dst = tf.tensor2d(padded(plan.dst), [E, 1], 'int32');
    const w = tf.tensor2d(padded(plan.weight), [E, 1]);
    const op = tf.customGrad((f, s, d, wt, save) => {
      // Keep the index tensors alive for the backward pass (the tape holds saved tensors).
      (save as tf.GradSaveFunc)([s as tf.Tensor, d as tf.Tensor, wt as tf.Tensor]);
      const value = tf.scatterND(
        d as tf.Tensor,
        tf.mul(tf.gatherND(f as tf.Tensor, s as tf.Tensor), wt as tf.Tensor),
        [R * P * P, C],
      );
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [ss, dd, ww] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
          const df = tf.scatterND(ss, tf.mul(tf.gatherND(dy, dd), ww), [plan.sourceRows, C]);
          return [df, tf.zerosLike(ss), tf.zerosLike(dd), tf.zerosLike(ww)];
        },
      };
    });
    return tf.reshape(op(flat, src, dst, w) as tf.Tensor, [R, P, P, C]) as tf.Tensor4D;
  });
}
