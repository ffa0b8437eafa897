/**
 * UnsortedSegmentSum for the wasm backend (missing there, and it is the gradient of tf.gather).
 * out[k, …] = Σ_{j : ids[j] = k} x[j, …]; ids outside [0, numSegments) are dropped, as the cpu
 * backend does. One pass over x, accumulating rows in place.
 */
import type * as tf from '@tensorflow/tfjs';
import { type Info, withScope } from './wasm-scope';

export function unsortedSegmentSumWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): Info {
  const { x, segmentIds } = args.inputs as { x: Info; segmentIds: Info };
  const numSegments = Number((args.attrs as { numSegments: number }).numSegments);
  const idRank = segmentIds.shape.length;
  for (let i = 0; i < idRank; i++) {
    if (segmentIds.shape[i] !== x.shape[i]) {
      throw new Error(
        `UnsortedSegmentSum (wasm): segmentIds shape ${segmentIds.shape} is not a prefix of x ${x.shape}`,
      );
    }
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum (wasm): unsupported dtype ${x.dtype}`);
  }
  const inner = x.shape.slice(idRank).reduce((a, b) => a * b, 1);
  return withScope(args.backend, (s) => {
    const out = s.alloc([numSegments, ...x.shape.slice(idRank)], x.dtype as 'float32' | 'int32', 0);
    segmentSum(s.view(out), s.view(x), s.view(segmentIds), numSegments, inner);
    return out;
  });
}

/** Named top-level loop: V8 optimises it, unlike the same loop inside the withScope closure. */
function segmentSum(
  ov: Float32Array | Int32Array,
  xv: Float32Array | Int32Array,
  ids: Float32Array | Int32Array,
  numSegments: number,
  inner: number,
): void {
  for (let j = 0; j < ids.length; j++) {
    const k = ids[j];
    if (k < 0 || k >= numSegments) continue;
    const src = j * inner;
    const dst = k * inner;
    for (let e = 0; e < inner; e++) ov[dst + e] += xv[src + e];
  }
}
