/**
 * Conv2DBackpropInput for the wasm backend. The stock kernel is a naive loop (~1.8 GFLOP/s);
 * this one runs XNNPACK convolutions.
 *
 * dx[y] = Σ_{i,a : i·s + a − pt = y} dy[i] · W[a]  (per spatial axis; channels contract Co → Ci).
 * Stride 1: a full convolution of dy with the spatially flipped, in/out-swapped filter.
 * Stride s > 1: instead of inserting s−1 zeros between dy samples (s² × the work, mostly on zeros),
 * split dx into s × s phases by (y + pt) mod s. Phase r only sees taps a ≡ r (mod s), so it is a
 * stride-1 convolution of dy with the sub-filter W[r], W[r+s], … (flipped): the phases together
 * cost what the forward convolution costs. Their outputs are interleaved into dx.
 * Small maps under large filters take a product form instead (gemmBackpropInput, below).
 */
import * as tf from '@tensorflow/tfjs';
import { type ConvGradAttrs, convGradGeometry } from './conv-grad-geometry';
import { type Info, type WasmScope, type WindowGeometry, crop4d, withScope } from './wasm-scope';

type Attrs = ConvGradAttrs & { inputShape: [number, number, number, number] };

/** One phase along one axis: which taps it uses and how dy must be padded (negative: cropped). */
interface AxisPhase {
  r: number;
  taps: number;
  padBefore: number;
  padAfter: number;
}

interface AxisPlan {
  /** Phase grid rows (q = qa … qb), shared by all phases. */
  q: number;
  /** dx index = grid index − offset, grid index = (q − qa)·s + r. */
  offset: number;
  phases: AxisPhase[];
}

function planAxis(size: number, outSize: number, k: number, s: number, padBefore: number): AxisPlan {
  const qa = Math.floor(padBefore / s);
  const qb = Math.floor((padBefore + size - 1) / s);
  const phases: AxisPhase[] = [];
  for (let r = 0; r < s; r++) {
    const taps = r < k ? Math.ceil((k - r) / s) : 0;
    phases.push({ r, taps, padBefore: taps - 1 - qa, padAfter: qb - (outSize - 1) });
  }
  return { q: qb - qa + 1, offset: padBefore - qa * s, phases };
}

export function conv2dBackpropInputWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): Info {
  const { dy, filter } = args.inputs as { dy: Info; filter: Info };
  const attrs = args.attrs as unknown as Attrs;
  const filterShape = filter.shape as [number, number, number, number];
  const g = convGradGeometry('Conv2DBackpropInput (wasm)', attrs.inputShape, filterShape, dy.shape, attrs);
  const { n, h, w, ci, kh, kw, ho, wo, sh, sw, pt, pl } = g;
  if (preferGemm(filterShape, dy.shape)) {
    return withScope(args.backend, (s) => gemmBackpropInput(s, dy, filter, attrs.inputShape, sh, sw, pt, pl));
  }
  const rows = planAxis(h, ho, kh, sh, pt);
  const cols = planAxis(w, wo, kw, sw, pl);

  return withScope(args.backend, (s) => {
    const filters = phaseFilters(s, filter, rows, cols, sh, sw);
    const outs: { ph: AxisPhase; pw: AxisPhase; out: Info }[] = [];
    for (const ph of rows.phases) {
      for (const pw of cols.phases) {
        const g = filters.get(key(ph.r, pw.r));
        if (!g) continue; // no taps: this phase of dx stays zero
        outs.push({ ph, pw, out: phaseConv(s, dy, g, ph, pw) });
      }
    }
    if (rows.phases.length === 1 && cols.phases.length === 1 && outs.length === 1) {
      return outs[0].out; // stride 1: the single phase is dx itself
    }
    const dx = s.alloc([n, h, w, ci], 'float32');
    const dxv = s.f32(dx);
    if (outs.length < rows.phases.length * cols.phases.length) dxv.fill(0);
    for (const { ph, pw, out } of outs) {
      scatterPhase(dxv, s.f32(out), n, h, w, ci, rows, cols, ph.r, pw.r);
    }
    return dx;
  });
}

const key = (rh: number, rw: number): string => `${rh},${rw}`;

/**
 * Sub-filters G[t, u, o, i] = W[rh + sh·(Mh−1−t), rw + sw·(Mw−1−u), i, o]: one wasm Transpose of W
 * to [kh, kw, Co, Ci] (~2× faster than the same reordering as a strided JS loop), then whole
 * [Co, Ci] tap blocks copied into place.
 */
function phaseFilters(
  s: WasmScope,
  filter: Info,
  rows: AxisPlan,
  cols: AxisPlan,
  sh: number,
  sw: number,
): Map<string, Info> {
  const [, kw, ci, co] = filter.shape as [number, number, number, number];
  const made: { rh: number; rw: number; mh: number; mw: number; info: Info }[] = [];
  for (const ph of rows.phases) {
    for (const pw of cols.phases) {
      if (ph.taps === 0 || pw.taps === 0) continue;
      made.push({ rh: ph.r, rw: pw.r, mh: ph.taps, mw: pw.taps, info: s.alloc([ph.taps, pw.taps, co, ci]) });
    }
  }
  const swapped = s.run('Transpose', { x: filter }, { perm: [0, 1, 3, 2] });
  const wv = s.f32(swapped);
  const block = ci * co;
  const result = new Map<string, Info>();
  for (const m of made) {
    const gv = s.f32(m.info);
    for (let t = 0; t < m.mh; t++) {
      const a = m.rh + sh * (m.mh - 1 - t);
      for (let u = 0; u < m.mw; u++) {
        const b = m.rw + sw * (m.mw - 1 - u);
        const src = (a * kw + b) * block;
        gv.set(wv.subarray(src, src + block), (t * m.mw + u) * block);
      }
    }
    result.set(key(m.rh, m.rw), m.info);
  }
  return result;
}

function phaseConv(s: WasmScope, dy: Info, g: Info, ph: AxisPhase, pw: AxisPhase): Info {
  const [, ho, wo] = dy.shape;
  let x = dy;
  const cropTop = Math.max(-ph.padBefore, 0);
  const cropBottom = Math.max(-ph.padAfter, 0);
  const cropLeft = Math.max(-pw.padBefore, 0);
  const cropRight = Math.max(-pw.padAfter, 0);
  if (cropTop + cropBottom + cropLeft + cropRight > 0) {
    x = crop4d(s, dy, cropTop, cropLeft, ho - cropTop - cropBottom, wo - cropLeft - cropRight);
  }
  return s.run(
    'Conv2D',
    { x, filter: g },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [Math.max(ph.padBefore, 0), Math.max(ph.padAfter, 0)],
        [Math.max(pw.padBefore, 0), Math.max(pw.padAfter, 0)],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [1, 1],
    },
  );
}

/** Writes phase (rh, rw), laid out on the q × q grid, to the dx positions it owns. */
function scatterPhase(
  dx: Float32Array,
  src: Float32Array,
  n: number,
  h: number,
  w: number,
  c: number,
  rows: AxisPlan,
  cols: AxisPlan,
  rh: number,
  rw: number,
): void {
  const sh = rows.phases.length;
  const sw = cols.phases.length;
  for (let b = 0; b < n; b++) {
    for (let qy = 0; qy < rows.q; qy++) {
      const y = qy * sh + rh - rows.offset;
      if (y < 0 || y >= h) continue;
      for (let qx = 0; qx < cols.q; qx++) {
        const x = qx * sw + rw - cols.offset;
        if (x < 0 || x >= w) continue;
        const from = ((b * rows.q + qy) * cols.q + qx) * c;
        dx.set(src.subarray(from, from + c), ((b * h + y) * w + x) * c); // one memcpy per pixel
      }
    }
  }
}

/**
 * Small maps under large filters (ResNet's last stages: 3×3 or 6×6 maps, 128–256 channels) pay
 * mostly for XNNPACK's per-call filter transpose and packing, which scale with the filter. The
 * product form packs dy instead: P = W·dyᵀ with W as [kh·kw·Ci, Co] (its own layout, no copy) and
 * dyᵀ as [Co, N·Ho·Wo], then P's rows are scattered back to the pixels they came from (col2im).
 */
export function preferGemm(filterShape: number[], dyShape: number[]): boolean {
  const filterSize = filterShape.reduce((p, q) => p * q, 1);
  const dySize = dyShape.reduce((p, q) => p * q, 1);
  return filterSize >= GEMM_MIN_FILTER_TO_DY * dySize;
}

/**
 * Measured per call on the ResNet-18 (width 32, batch 16, 96 px) shapes, wasm, 1 thread, fresh
 * filter each call as in training: [3,3,256,256] on 3×3 maps (ratio 16) 22.9 → 15.4 ms; s2
 * [3,3,128,256] (ratio 8) 13.8 → 8.8 ms; but [3,3,128,128] on 6×6 (ratio 2) 13.6 → 18.6 ms and
 * larger maps lose more (the scatter grows with the maps, the saved packing with the filter).
 */
const GEMM_MIN_FILTER_TO_DY = 6;

function gemmBackpropInput(
  s: WasmScope,
  dy: Info,
  filter: Info,
  inputShape: [number, number, number, number],
  sh: number,
  sw: number,
  pt: number,
  pl: number,
): Info {
  const [n, ho, wo, co] = dy.shape as [number, number, number, number];
  const [kh, kw, ci] = filter.shape as [number, number, number, number];
  const m = n * ho * wo;
  const dy2 = s.run('Reshape', { x: dy }, { shape: [m, co] });
  const dyT = s.run('Transpose', { x: dy2 }, { perm: [1, 0] });
  const a = s.run('Reshape', { x: filter }, { shape: [1, kh * kw * ci, co] });
  const b = s.run('Reshape', { x: dyT }, { shape: [1, co, m] });
  const p = s.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false }); // [K, M]
  const dx = s.alloc(inputShape, 'float32');
  const dxv = s.f32(dx);
  dxv.fill(0);
  col2im(dxv, s.f32(p), { n, h: inputShape[1], w: inputShape[2], c: ci, ho, wo, kh, kw, sh, sw, pt, pl });
  return dx;
}

/** dx[b, oy·sh + a − pt, ox·sw + c − pl, i] += P[(a, c, i), (b, oy, ox)]; named top-level loops (V8 optimises them). */
function col2im(dx: Float32Array, p: Float32Array, g: WindowGeometry): void {
  const { n, h, w, c: ci, ho, wo, kh, kw, sh, sw, pt, pl } = g;
  const m = n * ho * wo;
  for (let a = 0; a < kh; a++) {
    for (let c = 0; c < kw; c++) {
      for (let i = 0; i < ci; i++) {
        let from = ((a * kw + c) * ci + i) * m;
        for (let b = 0; b < n; b++) {
          for (let oy = 0; oy < ho; oy++) {
            const y = oy * sh + a - pt;
            if (y < 0 || y >= h) {
              from += wo;
              continue;
            }
            const rowBase = (b * h + y) * w;
            for (let ox = 0; ox < wo; ox++, from++) {
              const x = ox * sw + c - pl;
              if (x >= 0 && x < w) dx[(rowBase + x) * ci + i] += p[from];
            }
          }
        }
      }
    }
  }
}
