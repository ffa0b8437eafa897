/**
 * Conv2DBackpropFilter for the wasm backend (which has none, so no conv net could train on it).
 *
 * The weight gradient dW[a,b,i,o] = Σ_{n,y,x} x[n, y·s + a − pt, x·s + b − pl, i] · dy[n, y, x, o]
 * is itself a convolution once batch and channels swap roles: take x as a batch of Ci images
 * [Ci, H, W, N] (batch becomes the channel axis) and dy as a filter [Ho, Wo, N, Co]; a stride-1
 * convolution with dilation s (the forward stride) and explicit padding gives [Ci, kh, kw, Co].
 * That runs as one XNNPACK Conv2D (8–14 GFLOP/s on one thread); an im2col (even built in JS) plus
 * one GEMM measured 2–5× slower for 3×3 and 7×7 kernels.
 * An unpadded 1×1 kernel is a plain product instead: xᵀ·dy over the pixels the stride visits
 * (subsampled in JS for stride > 1), as a transpose then an untransposed matMul (XNNPACK only
 * serves matMul without transpose flags). ~30% faster than the convolution form for 1×1 s2.
 */
import * as tf from '@tensorflow/tfjs';
import { type ConvGradAttrs, convGradGeometry } from './conv-grad-geometry';
import { type Info, type WasmScope, crop4d, withScope } from './wasm-scope';

type Attrs = ConvGradAttrs & { filterShape: [number, number, number, number] };

export function conv2dBackpropFilterWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): Info {
  const { x, dy } = args.inputs as { x: Info; dy: Info };
  const attrs = args.attrs as unknown as Attrs;
  const xShape = x.shape as [number, number, number, number];
  const g = convGradGeometry('Conv2DBackpropFilter (wasm)', xShape, attrs.filterShape, dy.shape, attrs);
  const { n, h, w, ci, co, kh, kw, ho, wo, sh, sw, pt, pl } = g;

  return withScope(args.backend, (s) => {
    if (kh === 1 && kw === 1 && pt === 0 && pl === 0) {
      const xs = sh === 1 && sw === 1 && ho === h && wo === w ? x : subsample(s, x, sh, sw, ho, wo);
      return pointwise(s, xs, dy, n * ho * wo, ci, co);
    }
    // Bottom/right padding that makes the "output" of the rewritten convolution exactly kh × kw;
    // negative means the forward conv never reached the last rows/columns: crop them instead.
    let pb = kh + (ho - 1) * sh - h - pt;
    let pr = kw + (wo - 1) * sw - w - pl;
    let xIn = x;
    if (pb < 0 || pr < 0) {
      xIn = crop4d(s, x, 0, 0, h + Math.min(pb, 0), w + Math.min(pr, 0));
      pb = Math.max(pb, 0);
      pr = Math.max(pr, 0);
    }
    const xt = s.run('Transpose', { x: xIn }, { perm: [3, 1, 2, 0] }); // [Ci, H, W, N]
    const f = s.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] }); // [Ho, Wo, N, Co]
    const out = s.run(
      'Conv2D',
      { x: xt, filter: f },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [pt, pb],
          [pl, pr],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dilations: [sh, sw],
      },
    ); // [Ci, kh, kw, Co]
    return s.run('Transpose', { x: out }, { perm: [1, 2, 0, 3] });
  });
}

/** x[:, i·sh, j·sw, :] for i < ho, j < wo: the pixels an unpadded 1×1 kernel reads. */
function subsample(s: WasmScope, x: Info, sh: number, sw: number, ho: number, wo: number): Info {
  const [n, h, w, c] = x.shape;
  const out = s.alloc([n, ho, wo, c]);
  const src = s.view(x);
  const dst = s.view(out);
  let to = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        const from = ((b * h + i * sh) * w + j * sw) * c;
        dst.set(src.subarray(from, from + c), to); // one memcpy per pixel
        to += c;
      }
    }
  }
  return out;
}

function pointwise(s: WasmScope, x: Info, dy: Info, m: number, ci: number, co: number): Info {
  const x2 = s.run('Reshape', { x }, { shape: [m, ci] });
  const xT = s.run('Transpose', { x: x2 }, { perm: [1, 0] });
  const a = s.run('Reshape', { x: xT }, { shape: [1, ci, m] });
  const b = s.run('Reshape', { x: dy }, { shape: [1, m, co] });
  const prod = s.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
  return s.run('Reshape', { x: prod }, { shape: [1, 1, ci, co] });
}
