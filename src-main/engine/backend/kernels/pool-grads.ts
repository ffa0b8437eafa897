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
  const { dy, input, output } = args.inputs as { dy: Info; input: Info; output?: Info };
  const info = poolInfo(input, args.attrs as unknown as PoolAttrs);
  const [n, h, w, c] = input.shape;
  const { outHeight: ho, outWidth: wo, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  return withScope(args.backend, (s) => {
    const dx = s.alloc(input.shape, 'float32', 0);
    const yOk = output !== undefined && output.shape.every((d, i) => d === [n, ho, wo, c][i]);
    // Views after the last allocation (an allocation may grow the heap and detach older views).
    const geom: PoolGeometry = { n, h, w, c, ho, wo, kh, kw, sh, sw, pt, pl };
    maxPoolScatter(s.f32(dx), s.f32(input), s.f32(dy), yOk ? s.f32(output) : undefined, geom);
    return dx;
  });
}

interface PoolGeometry {
  n: number;
  h: number;
  w: number;
  c: number;
  ho: number;
  wo: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pt: number;
  pl: number;
}

/**
 * The max-pool scatter as a named top-level function: V8 optimises (and OSRs into) it reliably,
 * where the same loops in the closure handed to withScope stayed unoptimised (~3× slower).
 */
function maxPoolScatter(
  dxv: Float32Array,
  xv: Float32Array,
  dyv: Float32Array,
  yv: Float32Array | undefined,
  g: PoolGeometry,
): void {
  const { n, h, w, c, ho, wo, kh, kw, sh, sw, pt, pl } = g;
  const taps = new Int32Array(kh * kw);
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
        const from = ((b * ho + oy) * wo + ox) * c;
        let count = 0;
        for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) taps[count++] = ((b * h + y) * w + x) * c;
        if (yv) {
          // The forward's maximum is known: the first tap that equals it is the first maximum
          // (a max pool only copies values, so equality is exact). ~2× fewer reads than the
          // search below: most windows stop at their first taps.
          for (let k = 0; k < c; k++) {
            const m = yv[from + k];
            let t = 0;
            while (t < count - 1 && xv[taps[t] + k] !== m) t++;
            dxv[taps[t] + k] += dyv[from + k];
          }
          continue;
        }
        // First pixel of the window seeds the search; later pixels win only when strictly larger.
        for (let k = 0; k < c; k++) {
          best[k] = xv[taps[0] + k];
          at[k] = taps[0] + k;
        }
        for (let t = 1; t < count; t++) {
          const base = taps[t];
          for (let k = 0; k < c; k++) {
            const v = xv[base + k];
            if (v > best[k]) {
              best[k] = v;
              at[k] = base + k;
            }
          }
        }
        for (let k = 0; k < c; k++) dxv[at[k]] += dyv[from + k];
      }
    }
  }
}

export function avgPoolGradWasm(args: Args): Info {
  const { dy, input } = args.inputs as { dy: Info; input: Info };
  const info = poolInfo(input, args.attrs as unknown as PoolAttrs);
  const [n, h, w, c] = input.shape;
  const { outHeight: ho, outWidth: wo, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const geom: PoolGeometry = { n, h, w, c, ho, wo, kh, kw, sh, sw, pt: info.padInfo.top, pl: info.padInfo.left };
  return withScope(args.backend, (s) => {
    const mid = s.alloc([n, ho, w, c], 'float32', 0); // spread along x
    const dx = s.alloc(input.shape, 'float32', 0);
    avgPoolScatter(s.f32(dx), s.f32(mid), s.f32(dy), geom);
    return dx;
  });
}

/** Named top-level loops (see maxPoolScatter): spread dy along x with 1/cx, then along y with 1/cy. */
function avgPoolScatter(dxv: Float32Array, midv: Float32Array, dyv: Float32Array, g: PoolGeometry): void {
  const { n, h, w, c, ho, wo, kh, kw, sh, sw, pt, pl } = g;
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
}
