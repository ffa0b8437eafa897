/**
 * Composition helper for kernels supplied to the wasm backend: a KernelScope (kernel-scope.ts) on
 * the wasm backend, plus allocation of and views into tensors on the wasm heap.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type Info, KernelScope, inScope } from './kernel-scope';

export type { Info };

export class WasmScope extends KernelScope<BackendWasm> {
  constructor(backend: BackendWasm) {
    super(backend, 'wasm');
  }

  /** A fresh tensor on the wasm heap (uninitialised unless `fill` is given). */
  alloc(shape: number[], dtype: 'float32' | 'int32' = 'float32', fill?: number): Info {
    const out = this.backend.makeOutput(shape, dtype);
    this.track(out);
    if (fill !== undefined) this.view(out).fill(fill);
    return out;
  }

  /**
   * A typed-array view of a tensor's memory. Take views only after the last allocation of a step:
   * growing the wasm memory detaches earlier views.
   */
  view(info: Info): Float32Array | Int32Array {
    return this.backend.typedArrayFromHeap(info) as Float32Array | Int32Array;
  }

  f32(info: Info): Float32Array {
    const v = this.view(info);
    if (!(v instanceof Float32Array)) throw new Error(`expected float32 data, got ${info.dtype}`);
    return v;
  }
}

/** Runs `body` with a scope and frees its intermediates whether it returns or throws. */
export function withScope(backend: unknown, body: (s: WasmScope) => Info): Info {
  return inScope(new WasmScope(backend as BackendWasm), body);
}

/**
 * Copies the window [top, top+h) × [left, left+w) of an NHWC tensor (crop only: the window lies
 * inside). The wasm Slice kernel reads the whole tensor into JS first; this copies rows directly.
 */
export function crop4d(s: WasmScope, x: Info, top: number, left: number, h: number, w: number): Info {
  const [n, hIn, wIn, c] = x.shape as [number, number, number, number];
  if (top < 0 || left < 0 || top + h > hIn || left + w > wIn) {
    throw new Error(`crop4d: window ${top},${left} ${h}x${w} outside ${hIn}x${wIn}`);
  }
  const out = s.alloc([n, h, w, c], x.dtype as 'float32');
  const src = s.view(x);
  const dst = s.view(out);
  const rowLen = w * c;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      const from = ((b * hIn + top + y) * wIn + left) * c;
      dst.set(src.subarray(from, from + rowLen), (b * h + y) * rowLen);
    }
  }
  return out;
}

/**
 * A sliding window over an NHWC map (pools, convolutions): input n × h × w × c, output ho × wo,
 * window kh × kw, strides sh, sw, padding pt (top) and pl (left).
 */
export interface WindowGeometry {
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
