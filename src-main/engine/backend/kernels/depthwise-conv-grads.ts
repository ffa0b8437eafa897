/**
 * DepthwiseConv2dNativeBackpropInput / …BackpropFilter for the wasm backend, which has neither (so
 * no depthwise net, MobileNetV2, could train on it). The forward kernel (XNNPACK) is stock.
 *
 * Filter [kh, kw, C, M] (channel multiplier M), output channel c·M + m. With stride s, dilation d
 * and padding (pt, pl), output pixel (y, x) reads input (y·s + a·d − pt, x·s + b·d − pl) at tap (a, b):
 *   dx[n, iy, ix, c]  = Σ_{y, x, a, b, m} dy[n, y, x, c·M + m] · W[a, b, c, m]
 *   dW[a, b, c, m]    = Σ_{n, y, x}      x[n, iy, ix, c] · dy[n, y, x, c·M + m]
 * Both are direct loops over the wasm heap with the channel axis innermost (contiguous in NHWC and
 * in the filter), so every inner loop streams memory. Depthwise work is k²·N·H·W·C multiply-adds —
 * small beside the 1×1 convolutions around it in an inverted residual, which XNNPACK runs — but the
 * loops run ~10× slower than XNNPACK's forward. So the input gradient at stride 1 (13 of MobileNetV2's
 * 17 depthwise layers), channel multiplier 1 and no dilation takes XNNPACK's forward kernel instead:
 * dx is the depthwise convolution of dy with the spatially flipped filter, padded by k − 1 − pad
 * before and h − ho + pad after.
 */
import * as tf from '@tensorflow/tfjs';
import { type Info, type WasmScope, withScope } from './wasm-scope';

interface DepthwiseGradAttrs {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
  dilations: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

type Shape4 = [number, number, number, number];

function geometry(
  who: string,
  xShape: Shape4,
  filterShape: Shape4,
  dyShape: number[],
  attrs: DepthwiseGradAttrs,
) {
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  const [n, h, w, c] = xShape;
  const m = filterShape[3];
  if (filterShape[2] !== c || dyShape.join(',') !== [n, info.outHeight, info.outWidth, c * m].join(','))
    throw new Error(
      `${who}: dy [${dyShape}] is not the depthwise output of input [${xShape}] and filter [${filterShape}]`,
    );
  return {
    n,
    h,
    w,
    c,
    m,
    kh: filterShape[0],
    kw: filterShape[1],
    ho: info.outHeight,
    wo: info.outWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    pt: info.padInfo.top,
    pl: info.padInfo.left,
  };
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

type Geometry = ReturnType<typeof geometry>;

/**
 * Calls `visit` once per (output pixel, in-bounds tap) with the offsets of dy's pixel, the input
 * pixel the tap reads, and the tap's filter row — each kernel's channel loop runs inside.
 */
function forEachTap(g: Geometry, visit: (dyBase: number, xBase: number, wBase: number) => void): void {
  const { n, h, w, c, m, kh, kw, ho, wo, sh, sw, dh, dw, pt, pl } = g;
  const cm = c * m;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < ho; y++) {
      for (let x = 0; x < wo; x++) {
        const dyBase = ((b * ho + y) * wo + x) * cm;
        for (let a = 0; a < kh; a++) {
          const iy = y * sh + a * dh - pt;
          if (iy < 0 || iy >= h) continue;
          for (let t = 0; t < kw; t++) {
            const ix = x * sw + t * dw - pl;
            if (ix < 0 || ix >= w) continue;
            visit(dyBase, ((b * h + iy) * w + ix) * c, (a * kw + t) * cm);
          }
        }
      }
    }
  }
}

export function depthwiseBackpropInputWasm(args: KernelArgs): Info {
  const { dy, filter } = args.inputs as { dy: Info; filter: Info };
  const attrs = args.attrs as unknown as DepthwiseGradAttrs & { inputShape: Shape4 };
  const g = geometry(
    'DepthwiseConv2dNativeBackpropInput (wasm)',
    attrs.inputShape,
    filter.shape as Shape4,
    dy.shape,
    attrs,
  );
  const { n, h, w, c, m } = g;
  const flippedPad = stride1Padding(g);
  if (flippedPad) return withScope(args.backend, (s) => flippedConv(s, dy, filter, flippedPad));
  return withScope(args.backend, (s) => {
    const dx = s.alloc([n, h, w, c], 'float32');
    const out = s.f32(dx);
    const dyv = s.f32(dy);
    const wv = s.f32(filter);
    out.fill(0);
    forEachTap(g, (dyBase, dxBase, wBase) => {
      if (m === 1) {
        for (let k = 0; k < c; k++) out[dxBase + k] += dyv[dyBase + k]! * wv[wBase + k]!;
        return;
      }
      for (let k = 0; k < c; k++) {
        let sum = 0;
        for (let j = 0; j < m; j++) sum += dyv[dyBase + k * m + j]! * wv[wBase + k * m + j]!;
        out[dxBase + k] += sum;
      }
    });
    return dx;
  });
}

/** The flipped-filter convolution's explicit padding when it applies (else null: use the loop). */
function stride1Padding(g: Geometry): tf.backend_util.ExplicitPadding | null {
  const { h, w, m, kh, kw, ho, wo, sh, sw, dh, dw, pt, pl } = g;
  if (sh !== 1 || sw !== 1 || dh !== 1 || dw !== 1 || m !== 1) return null;
  const [top, bottom, left, right] = [kh - 1 - pt, h - ho + pt, kw - 1 - pl, w - wo + pl];
  if (Math.min(top, bottom, left, right) < 0) return null;
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}

function flippedConv(s: WasmScope, dy: Info, filter: Info, pad: tf.backend_util.ExplicitPadding): Info {
  const [kh, kw, c] = filter.shape as Shape4;
  const flipped = s.alloc([kh, kw, c, 1], 'float32');
  const src = s.f32(filter);
  const dst = s.f32(flipped);
  for (let a = 0; a < kh; a++)
    for (let t = 0; t < kw; t++) {
      const from = (a * kw + t) * c;
      dst.set(src.subarray(from, from + c), ((kh - 1 - a) * kw + (kw - 1 - t)) * c);
    }
  return s.run(
    'DepthwiseConv2dNative',
    { x: dy, filter: flipped },
    { strides: [1, 1], pad, dilations: [1, 1], dataFormat: 'NHWC' },
  );
}

export function depthwiseBackpropFilterWasm(args: KernelArgs): Info {
  const { x, dy } = args.inputs as { x: Info; dy: Info };
  const attrs = args.attrs as unknown as DepthwiseGradAttrs & { filterShape: Shape4 };
  const g = geometry(
    'DepthwiseConv2dNativeBackpropFilter (wasm)',
    x.shape as Shape4,
    attrs.filterShape,
    dy.shape,
    attrs,
  );
  const { c, m, kh, kw } = g;
  return withScope(args.backend, (s) => {
    const dW = s.alloc([kh, kw, c, m], 'float32');
    const out = s.f32(dW);
    const xv = s.f32(x);
    const dyv = s.f32(dy);
    out.fill(0);
    forEachTap(g, (dyBase, xBase, wBase) => {
      if (m === 1) {
        for (let k = 0; k < c; k++) out[wBase + k] += xv[xBase + k]! * dyv[dyBase + k]!;
        return;
      }
      for (let k = 0; k < c; k++) {
        const xk = xv[xBase + k]!;
        for (let j = 0; j < m; j++) out[wBase + k * m + j] += xk * dyv[dyBase + k * m + j]!;
      }
    });
    return dW;
  });
}
