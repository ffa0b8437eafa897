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
 * after a ReLU. With the forward's output and channels a multiple of 4 (every pool of the nets),
 * the search runs in a small WebAssembly SIMD function on the backend's heap, 4 channels per
 * compare: ResNet-18's pool gradient ([16,48,48,32] after ReLU, 3×3 s2) takes 1.6 ms (median of
 * 100 calls, 2-core machine) where the JS loops took 10 ms (16 ms inside the training step). The
 * JS loops remain for the other cases; both give the same bits.
 * Avg: the divisor of a window is (rows inside) × (columns inside), so the scatter is separable:
 * spread along x with 1/cx, then along y with 1/cy — 2k work per element instead of k².
 */
import * as tf from '@tensorflow/tfjs';
import { type FunctionSpec, heapFunction, I32, op, simd, V128 } from './wasm-asm';
import { type Info, type WindowGeometry, withScope } from './wasm-scope';

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
  const {
    outHeight: ho,
    outWidth: wo,
    filterHeight: kh,
    filterWidth: kw,
    strideHeight: sh,
    strideWidth: sw,
  } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  return withScope(args.backend, (s) => {
    const dx = s.alloc(input.shape, 'float32', 0);
    const y =
      output !== undefined && output.shape.every((d, i) => d === [n, ho, wo, c][i]) ? output : undefined;
    const geom: WindowGeometry = { n, h, w, c, ho, wo, kh, kw, sh, sw, pt, pl };
    // Views after the last allocation (an allocation may grow the heap and detach older views).
    const win = y && c % 4 === 0 ? simdWindowFn(s.backend) : undefined;
    if (win && y)
      maxPoolScatterSimd(
        win,
        s.f32(dx).byteOffset,
        s.f32(input).byteOffset,
        s.f32(dy).byteOffset,
        s.f32(y).byteOffset,
        geom,
      );
    else maxPoolScatter(s.f32(dx), s.f32(input), s.f32(dy), y && s.f32(y), geom);
    return dx;
  });
}

/**
 * The max-pool scatter in JS, for channels not a multiple of 4, a missing forward output, or no
 * WebAssembly SIMD. A named top-level function: V8 optimises (and OSRs into) it reliably, where
 * the same loops in the closure handed to withScope stayed unoptimised (~3× slower).
 */
function maxPoolScatter(
  dxv: Float32Array,
  xv: Float32Array,
  dyv: Float32Array,
  yv: Float32Array | undefined,
  g: WindowGeometry,
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

/**
 * The window loop of the SIMD path: geometry in JS, one wasm call per window (9216 calls, ~0.3 ms
 * of a [16,48,48,32] gradient). Arguments are byte addresses on the wasm heap. Windows run in the
 * order of the JS loops, so every dx element sums the same terms in the same order: same bits.
 */
function maxPoolScatterSimd(
  win: WindowFn,
  dxp: number,
  xp: number,
  dyp: number,
  yp: number,
  g: WindowGeometry,
): void {
  const { n, h, w, c, ho, wo, kh, kw, sh, sw, pt, pl } = g;
  const pix = 4 * c;
  const rowBytes = w * pix;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < ho; oy++) {
      const y0 = Math.max(oy * sh - pt, 0);
      const y1 = Math.min(oy * sh - pt + kh, h);
      for (let ox = 0; ox < wo; ox++) {
        const x0 = Math.max(ox * sw - pl, 0);
        const x1 = Math.min(ox * sw - pl + kw, w);
        if (y0 >= y1 || x0 >= x1) continue;
        const first = ((b * h + y0) * w + x0) * pix;
        const out = ((b * ho + oy) * wo + ox) * pix;
        win(xp + first, dxp + first, yp + out, dyp + out, y1 - y0, x1 - x0, rowBytes, pix, pix);
      }
    }
  }
}

/**
 * The scatter of one window, 4 channels per step. Byte addresses: x and dx at the window's first
 * (top-left, in-bounds) tap, y and dy at its output pixel; rows × cols taps, pixBytes apart along
 * a row and rowBytes apart down the image; chBytes = 4c, a multiple of 16.
 */
type WindowFn = (
  x: number,
  dx: number,
  y: number,
  dy: number,
  rows: number,
  cols: number,
  rowBytes: number,
  pixBytes: number,
  chBytes: number,
) => void;

/** Whether MaxPoolGrad's SIMD search runs on this backend (tests pin it: the fallback is silent). */
export function maxPoolSimdAvailable(backend: unknown): boolean {
  return simdWindowFn(backend) !== undefined;
}

/**
 * The max-pool window scatter in WebAssembly SIMD on the backend's heap (wasm-asm.ts), or undefined
 * (no SIMD, memory not found): the JS loops then run. Why not JS: a typed-array compare costs
 * ~3 ns there, and a [16,48,48,32] gradient needs 2.6 M (9 taps × 295 k outputs); stopping at the
 * first match halves that but mispredicts once per output. Tap-outer/channel-inner rewrites (done
 * masks, chosen-tap arrays, shrinking channel lists) ran 1.2–2.2× slower than the JS loop below;
 * unrolling its search per channel, 1.6× faster, still ~6 ms. f32x4 compares are branch-free and
 * 4 channels wide.
 */
function simdWindowFn(backend: unknown): WindowFn | undefined {
  return heapFunction<WindowFn>(backend, 'maxPoolWindow', maxPoolWindowSpec);
}

/**
 * Per group of 4 channels: sel = offset of the last tap; for each tap from the last to the first,
 * sel = (x[tap] == y) ? tap : sel, so the first tap equal to the forward's maximum wins (IEEE
 * equality, as JS ===: NaN never matches and then the last tap gets the gradient, as in the JS
 * loop); then dx[sel] += dy, lane by lane (f32.add rounds as a Float32Array store does).
 */
function maxPoolWindowSpec(): FunctionSpec {
  // Parameters 0–8, then locals (i32 ×8, v128 ×2).
  const [x, dx, y, dy, rows, cols, rowBytes, pix, chBytes] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [k, xk, rowOff, off, last, colsBytes, rowsBytes, a, m, sel] = [9, 10, 11, 12, 13, 14, 15, 16, 17, 18];
  const { get, set, tee, i32, i32Add: add, i32Sub: sub, i32Mul: mul, i32Ne: ne, i32GeU: geU } = op;
  const { block, loop, end, br, brIf, f32Load, f32Store, f32Add } = op;
  const { load: v128Load, i32x4Splat: splat, f32x4Eq, bitselect, i32x4ExtractLane: lane } = simd;
  // dx[sel lane l] += dy[l]; the lane offset 4l rides in the memarg.
  // prettier-ignore
  const scatterLane = (l: number) => [
    ...get(dx), ...get(k), ...add, ...get(sel), ...lane(l), ...add, ...tee(a),
    ...get(a), ...f32Load(4 * l),
    ...get(dy), ...get(k), ...add, ...f32Load(4 * l),
    ...f32Add, ...f32Store(4 * l),
  ];
  // prettier-ignore
  const body = [
    // last = offset of the last tap; colsBytes, rowsBytes = the window's extent.
    ...get(rows), ...i32(1), ...sub, ...get(rowBytes), ...mul, ...get(cols), ...i32(1), ...sub, ...get(pix), ...mul, ...add, ...set(last),
    ...get(cols), ...get(pix), ...mul, ...set(colsBytes),
    ...get(rows), ...get(rowBytes), ...mul, ...set(rowsBytes),
    ...block, ...loop, // k: channel bytes, 16 at a time
    ...get(k), ...get(chBytes), ...geU, ...brIf(1),
    ...get(y), ...get(k), ...add, ...v128Load, ...set(m),
    ...get(last), ...splat, ...set(sel),
    ...get(x), ...get(k), ...add, ...set(xk),
    ...get(rowsBytes), ...set(rowOff),
    ...loop, // rows, last to first: rowOff -= rowBytes, off = rowOff + colsBytes
    ...get(rowOff), ...get(rowBytes), ...sub, ...tee(rowOff), ...get(colsBytes), ...add, ...set(off),
    ...loop, // columns, last to first: off -= pix; sel = x[off] == m ? off : sel
    ...get(off), ...get(pix), ...sub, ...tee(off), ...splat, ...get(sel),
    ...get(xk), ...get(off), ...add, ...v128Load, ...get(m), ...f32x4Eq,
    ...bitselect, ...set(sel),
    ...get(off), ...get(rowOff), ...ne, ...brIf(0),
    ...end,
    ...get(rowOff), ...brIf(0),
    ...end,
    ...scatterLane(0), ...scatterLane(1), ...scatterLane(2), ...scatterLane(3),
    ...get(k), ...i32(16), ...add, ...set(k),
    ...br(0),
    ...end, ...end,
  ];
  return {
    params: Array.from({ length: 9 }, () => I32),
    locals: [
      [8, I32],
      [2, V128],
    ],
    body,
  };
}

export function avgPoolGradWasm(args: Args): Info {
  const { dy, input } = args.inputs as { dy: Info; input: Info };
  const info = poolInfo(input, args.attrs as unknown as PoolAttrs);
  const [n, h, w, c] = input.shape;
  const {
    outHeight: ho,
    outWidth: wo,
    filterHeight: kh,
    filterWidth: kw,
    strideHeight: sh,
    strideWidth: sw,
  } = info;
  const geom: WindowGeometry = {
    n,
    h,
    w,
    c,
    ho,
    wo,
    kh,
    kw,
    sh,
    sw,
    pt: info.padInfo.top,
    pl: info.padInfo.left,
  };
  return withScope(args.backend, (s) => {
    const mid = s.alloc([n, ho, w, c], 'float32', 0); // spread along x
    const dx = s.alloc(input.shape, 'float32', 0);
    avgPoolScatter(s.f32(dx), s.f32(mid), s.f32(dy), geom);
    return dx;
  });
}

/** Named top-level loops (see maxPoolScatter): spread dy along x with 1/cx, then along y with 1/cy. */
function avgPoolScatter(dxv: Float32Array, midv: Float32Array, dyv: Float32Array, g: WindowGeometry): void {
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
