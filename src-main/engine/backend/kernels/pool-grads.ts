/**
 * MaxPoolGrad and AvgPoolGrad for the wasm backend. The stock wasm kernels run 20–50× slower than
 * the forward pools (13 ms vs 0.3 ms for a 3×3 s2 max pool on 8×32×32×32), and TF.js's
 * AvgPoolGrad (every backend but tfjs-node) divides by the full window size k² while the forward
 * pass divides by the number of non-padded pixels: with 'same' padding the gradient at the borders
 * is too small (a 7×7 corner window: 16 pixels, 1/49 instead of 1/16). This one differentiates the
 * forward pass that runs, as TensorFlow's own kernel does.
 *
 * Max: each output's gradient goes to the first maximum of its window in row-major order (strict
 * `>`), the rule of the cpu kernel and of TensorFlow; it matters for ties, e.g. windows of zeros
 * after a ReLU.
 * Avg: the divisor of a window is (rows inside) × (columns inside), so the scatter is separable:
 * spread along x with 1/cx, then along y with 1/cy — 2k work per element instead of k².
 */
import * as tf from '@tensorflow/tfjs';
import { type Info, withScope } from './wasm-scope';

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function poolInfo(x: Info, attrs: PoolAttrs) {
  return tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

export function maxPoolGradWasm(args: Args): Info {
  const { dy, input } = args.inputs as { dy: Info; input: Info };
  const info = poolInfo(input, args.attrs as unknown as PoolAttrs);
  const [n, h, w, c] = input.shape;
  const { outHeight: ho, outWidth: wo, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  return withScope(args.backend, (s) => {
    const dx = s.alloc(input.shape, 'float32', 0);
    const dxv = s.f32(dx);
    const xv = s.f32(input);
    const dyv = s.f32(dy);
    const best = new Float32Array(c);
    const at = new Int32Array(c);
    for (let b = 0; b < n; b++) {
      for (let oy = 0; oy < ho; oy++) {
        const y0 = Math.max(oy * sh - pt, 0);
        const y1 = Math.min(oy * sh - pt + kh, h);
        for (let ox = 0; ox < wo; ox++) {
          const x0 = Math.max(ox * sw - pl, 0);
          const x1 = Math.min(ox * sw - pl + kw, w);
          if (y0 >= y1 || x0 >= x1) continue;
          // First pixel of the window seeds the search; later pixels win only when strictly larger.
          let base = ((b * h + y0) * w + x0) * c;
          for (let k = 0; k < c; k++) {
            best[k] = xv[base + k];
            at[k] = base + k;
          }
          for (let y = y0; y < y1; y++) {
            for (let x = y === y0 ? x0 + 1 : x0; x < x1; x++) {
              base = ((b * h + y) * w + x) * c;
              for (let k = 0; k < c; k++) {
                const v = xv[base + k];
                if (v > best[k]) {
                  best[k] = v;
                  at[k] = base + k;
                }
              }
            }
          }
          const from = ((b * ho + oy) * wo + ox) * c;
          for (let k = 0; k < c; k++) dxv[at[k]] += dyv[from + k];
        }
      }
    }
    return dx;
  });
}

export function avgPoolGradWasm(args: Args): Info {
  const { dy, input } = args.inputs as { dy: Info; input: Info };
  const info = poolInfo(input, args.attrs as unknown as PoolAttrs);
  const [n, h, w, c] = input.shape;
  const { outHeight: ho, outWidth: wo, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  return withScope(args.backend, (s) => {
    const mid = s.alloc([n, ho, w, c], 'float32', 0); // spread along x
    const dx = s.alloc(input.shape, 'float32', 0);
    const midv = s.f32(mid);
    const dxv = s.f32(dx);
    const dyv = s.f32(dy);
    for (let b = 0; b < n; b++) {
      for (let oy = 0; oy < ho; oy++) {
        const row = (b * ho + oy) * w;
        for (let ox = 0; ox < wo; ox++) {
          const x0 = Math.max(ox * sw - pl, 0);
          const x1 = Math.min(ox * sw - pl + kw, w);
          if (x0 >= x1) continue;
          const scale = 1 / (x1 - x0);
          const from = ((b * ho + oy) * wo + ox) * c;
          for (let x = x0; x < x1; x++) {
            const to = (row + x) * c;
            for (let k = 0; k < c; k++) midv[to + k] += dyv[from + k] * scale;
          }
        }
      }
      for (let oy = 0; oy < ho; oy++) {
        const y0 = Math.max(oy * sh - pt, 0);
        const y1 = Math.min(oy * sh - pt + kh, h);
        if (y0 >= y1) continue;
        const scale = 1 / (y1 - y0);
        const from = (b * ho + oy) * w * c;
        for (let y = y0; y < y1; y++) {
          const to = (b * h + y) * w * c;
          for (let e = 0; e < w * c; e++) dxv[to + e] += midv[from + e] * scale;
        }
      }
    }
    return dx;
  });
}
