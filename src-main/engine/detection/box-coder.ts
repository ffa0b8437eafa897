/**
 * detectron2's Box2BoxTransform: boxes ↔ deltas (dx, dy, dw, dh) relative to a reference box,
 *   dx = wx·(gx − ax)/aw, dy = wy·(gy − ay)/ah, dw = ww·log(gw/aw), dh = wh·log(gh/ah),
 * with centres and sizes (no "+1"). Decoding clamps dw, dh at log(1000/16) so exp cannot overflow.
 * The JS forms serve target building and inference; `decodeDeltasTf` is the on-tape form GIoU needs.
 */
import * as tf from '@tensorflow/tfjs';
import type { BoxArray } from './boxes';

export type BoxWeights = readonly [number, number, number, number];

export const SCALE_CLAMP = Math.log(1000 / 16);

/** Deltas of `targets[i]` w.r.t. `refs[i]` for every row: [n × 4]. */
export function encodeBoxes(refs: BoxArray, targets: BoxArray, weights: BoxWeights): Float32Array {
  const [wx, wy, ww, wh] = weights;
  const out = new Float32Array(refs.length);
  for (let o = 0; o < refs.length; o += 4) {
    const aw = refs[o + 2]! - refs[o]!;
    const ah = refs[o + 3]! - refs[o + 1]!;
    const ax = refs[o]! + 0.5 * aw;
    const ay = refs[o + 1]! + 0.5 * ah;
    const gw = targets[o + 2]! - targets[o]!;
    const gh = targets[o + 3]! - targets[o + 1]!;
    const gx = targets[o]! + 0.5 * gw;
    const gy = targets[o + 1]! + 0.5 * gh;
    out[o] = (wx * (gx - ax)) / aw;
    out[o + 1] = (wy * (gy - ay)) / ah;
    out[o + 2] = ww * Math.log(gw / aw);
    out[o + 3] = wh * Math.log(gh / ah);
  }
  return out;
}

/** Applies deltas row i to refs row i: [n × 4] boxes. */
export function decodeBoxes(refs: BoxArray, deltas: ArrayLike<number>, weights: BoxWeights): Float32Array {
  const [wx, wy, ww, wh] = weights;
  const out = new Float32Array(refs.length);
  for (let o = 0; o < refs.length; o += 4) {
    const aw = refs[o + 2]! - refs[o]!;
    const ah = refs[o + 3]! - refs[o + 1]!;
    const ax = refs[o]! + 0.5 * aw;
    const ay = refs[o + 1]! + 0.5 * ah;
    const dx = deltas[o]! / wx;
    const dy = deltas[o + 1]! / wy;
    const dw = Math.min(deltas[o + 2]! / ww, SCALE_CLAMP);
    const dh = Math.min(deltas[o + 3]! / wh, SCALE_CLAMP);
    const cx = dx * aw + ax;
    const cy = dy * ah + ay;
    const w = Math.exp(dw) * aw;
    const h = Math.exp(dh) * ah;
    out[o] = cx - 0.5 * w;
    out[o + 1] = cy - 0.5 * h;
    out[o + 2] = cx + 0.5 * w;
    out[o + 3] = cy + 0.5 * h;
  }
  return out;
}

/**
 * On-tape decode: deltas [..., 4] against reference boxes of the same shape (a constant tensor).
 * Returns [..., 4] boxes. The clamp is a tf.minimum (no comparison ops recorded on the tape).
 */
export function decodeDeltasTf(refs: tf.Tensor, deltas: tf.Tensor, weights: BoxWeights): tf.Tensor {
  return tf.tidy(() => {
    const [ax1, ay1, ax2, ay2] = tf.split(refs, 4, -1);
    const [ddx, ddy, ddw, ddh] = tf.split(deltas, 4, -1);
    const aw = tf.sub(ax2!, ax1!);
    const ah = tf.sub(ay2!, ay1!);
    const ax = tf.add(ax1!, tf.mul(aw, 0.5));
    const ay = tf.add(ay1!, tf.mul(ah, 0.5));
    const cx = tf.add(tf.mul(tf.div(ddx!, weights[0]), aw), ax);
    const cy = tf.add(tf.mul(tf.div(ddy!, weights[1]), ah), ay);
    const w = tf.mul(tf.exp(tf.minimum(tf.div(ddw!, weights[2]), SCALE_CLAMP)), aw);
    const h = tf.mul(tf.exp(tf.minimum(tf.div(ddh!, weights[3]), SCALE_CLAMP)), ah);
    const hw = tf.mul(w, 0.5);
    const hh = tf.mul(h, 0.5);
    return tf.concat([tf.sub(cx, hw), tf.sub(cy, hh), tf.add(cx, hw), tf.add(cy, hh)], -1);
  });
}
