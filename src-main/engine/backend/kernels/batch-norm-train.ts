/**
 * Training-mode batch norm as two wasm kernels (forward, and its gradient), for nn/batch-norm.ts.
 * The arithmetic is that of the op-level form there (per-channel means as one average pooling over
 * the whole tensor, affine passes as 1×1 depthwise convolutions with bias, both XNNPACK); the
 * difference is that the ~17 forward and ~20 backward tensor ops of a batch norm, most of them on
 * [C]-sized vectors, become backend-level calls plus a few JS loops over C values: no engine
 * bookkeeping, no tape entries, no tidy scopes for them. Measured on a [16, 3, 3, 256] input (where
 * the arithmetic is negligible) the op-level form costs ~1.1 ms per forward + backward.
 *
 * Kernels (rank-2 [M, C] or NHWC input, statistics over every axis but the last):
 *   SelfEmdBatchNormTrain      {x, gamma, beta}, {epsilon}            → [y, mean, variance]
 *   SelfEmdBatchNormTrainGrad  {dy, x, gamma, mean, variance}, {epsilon} → [dx, dGamma, dBeta]
 */
import type * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type Info, WasmScope } from './wasm-scope';

export const BATCH_NORM_TRAIN = 'SelfEmdBatchNormTrain';
export const BATCH_NORM_TRAIN_GRAD = 'SelfEmdBatchNormTrainGrad';

type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** x seen as one image [1, rows, cols, C] for a whole-tensor average pooling. */
function imageShape(shape: number[]): [number, number, number, number] {
  const c = shape[shape.length - 1];
  if (shape.length === 4) return [1, shape[0] * shape[1], shape[2], c];
  if (shape.length === 2) return [1, shape[0], 1, c];
  throw new Error(`${BATCH_NORM_TRAIN}: expected an NHWC map or [M, C] rows, got shape [${shape}]`);
}

/** Per-channel mean of an image [1, rows, cols, C] as [1, 1, 1, C]. */
function channelMean(s: WasmScope, img: Info): Info {
  const [, rows, cols] = img.shape;
  if (rows * cols === 1) return img;
  return s.run('AvgPool', { x: img }, { filterSize: [rows, cols], strides: [1, 1], pad: 'valid' });
}

/** img·scale + shift per channel: one 1×1 depthwise convolution with bias. */
function affine(s: WasmScope, img: Info, scale: Info, shift: Info | undefined): Info {
  const inputs: Record<string, Info> = { x: img, filter: scale };
  if (shift) inputs.bias = shift;
  return s.run('FusedDepthwiseConv2D', inputs, {
    strides: [1, 1],
    pad: 'valid',
    dilations: [1, 1],
    dataFormat: 'NHWC',
    activation: 'linear',
  });
}

function run(args: Args, body: (s: WasmScope) => Info[]): Info[] {
  const s = new WasmScope(args.backend as BackendWasm);
  try {
    return body(s).map((o) => s.keep(o));
  } finally {
    s.dispose();
  }
}

export function batchNormTrainWasm(args: Args): Info[] {
  const { x, gamma, beta } = args.inputs as { x: Info; gamma: Info; beta: Info };
  const epsilon = Number((args.attrs as { epsilon: number }).epsilon);
  const c = x.shape[x.shape.length - 1];
  return run(args, (s) => {
    const img = s.run('Reshape', { x }, { shape: imageShape(x.shape) });
    const meanImg = channelMean(s, img);
    const varImg = channelMean(s, s.run('SquaredDifference', { a: img, b: meanImg }));
    const scale = s.alloc([1, 1, c, 1]);
    const shift = s.alloc([c]);
    const mean = s.alloc([c]);
    const variance = s.alloc([c]);
    // Views after the last allocation of this phase.
    const mv = s.f32(meanImg);
    const vv = s.f32(varImg);
    const gv = s.f32(gamma);
    const bv = s.f32(beta);
    const sc = s.f32(scale);
    const sh = s.f32(shift);
    s.f32(mean).set(mv);
    s.f32(variance).set(vv);
    for (let k = 0; k < c; k++) {
      sc[k] = gv[k] / Math.sqrt(vv[k] + epsilon);
      sh[k] = bv[k] - mv[k] * sc[k];
    }
    const y = s.run('Reshape', { x: affine(s, img, scale, shift) }, { shape: x.shape });
    return [y, mean, variance];
  });
}

export function batchNormTrainGradWasm(args: Args): Info[] {
  const { dy, x, gamma, mean, variance } = args.inputs as Record<string, Info>;
  const epsilon = Number((args.attrs as { epsilon: number }).epsilon);
  const c = x.shape[x.shape.length - 1];
  const m = x.shape.reduce((p, q) => p * q, 1) / c;
  return run(args, (s) => {
    const shape = imageShape(x.shape);
    const img = s.run('Reshape', { x }, { shape });
    const dyImg = s.run('Reshape', { x: dy }, { shape });
    // x̂ = (x − μ)·r, r = 1/√(var + ε)
    const r = s.alloc([1, 1, c, 1]);
    const negMuR = s.alloc([c]);
    {
      const rv = s.f32(r);
      const nv = s.f32(negMuR);
      const mu = s.f32(mean);
      const v = s.f32(variance);
      for (let k = 0; k < c; k++) {
        rv[k] = 1 / Math.sqrt(v[k] + epsilon);
        nv[k] = -mu[k] * rv[k];
      }
    }
    const xhat = affine(s, img, r, negMuR);
    const meanDy = channelMean(s, dyImg);
    const meanDyXhat = channelMean(s, s.run('Multiply', { a: dyImg, b: xhat }));
    // dx = s·dy − s·mean(dy) − s·mean(dy·x̂)·x̂ with s = γ·r; dγ = M·mean(dy·x̂), dβ = M·mean(dy).
    const sDy = s.alloc([1, 1, c, 1]);
    const shift = s.alloc([c]);
    const sXhat = s.alloc([1, 1, c, 1]);
    const dGamma = s.alloc([c]);
    const dBeta = s.alloc([c]);
    {
      const rv = s.f32(r);
      const gv = s.f32(gamma);
      const a = s.f32(meanDy);
      const b = s.f32(meanDyXhat);
      const f1 = s.f32(sDy);
      const f2 = s.f32(shift);
      const f3 = s.f32(sXhat);
      const dg = s.f32(dGamma);
      const db = s.f32(dBeta);
      for (let k = 0; k < c; k++) {
        const sk = gv[k] * rv[k];
        f1[k] = sk;
        f2[k] = -sk * a[k];
        f3[k] = -sk * b[k];
        dg[k] = m * b[k];
        db[k] = m * a[k];
      }
    }
    const dxImg = s.run('Add', { a: affine(s, dyImg, sDy, shift), b: affine(s, xhat, sXhat, undefined) });
    const dx = s.run('Reshape', { x: dxImg }, { shape: x.shape });
    return [dx, dGamma, dBeta];
  });
}
