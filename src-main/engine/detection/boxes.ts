/**
 * Axis-aligned boxes as flat Float32Arrays of [x1, y1, x2, y2] rows, in continuous pixel
 * coordinates (the image spans [0, W] × [0, H]; COCO's [x, y, w, h] is [x, y, x + w, y + h]).
 * Widths have no "+1" (detectron2's convention). Plain JS: matching and target building need no
 * gradients and are cheaper here than as many small tensor ops.
 */

export type BoxArray = Float32Array;

export function boxCount(boxes: BoxArray): number {
  return boxes.length >> 2;
}

export function area(boxes: BoxArray, i: number): number {
  const o = i * 4;
  return Math.max(0, boxes[o + 2]! - boxes[o]!) * Math.max(0, boxes[o + 3]! - boxes[o + 1]!);
}

/** IoU of box i of `a` with box j of `b`; 0 when the union is empty. */
export function iouAt(a: BoxArray, i: number, b: BoxArray, j: number): number {
  const p = i * 4;
  const q = j * 4;
  const iw = Math.min(a[p + 2]!, b[q + 2]!) - Math.max(a[p]!, b[q]!);
  const ih = Math.min(a[p + 3]!, b[q + 3]!) - Math.max(a[p + 1]!, b[q + 1]!);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = area(a, i) + area(b, j) - inter;
  return union > 0 ? inter / union : 0;
}

/** IoU matrix [a rows × b rows], row-major (detectron2's pairwise_iou(a, b)). */
export function pairwiseIou(a: BoxArray, b: BoxArray): Float32Array {
  const n = boxCount(a);
  const m = boxCount(b);
  const out = new Float32Array(n * m);
  const areaB = new Float32Array(m);
  for (let j = 0; j < m; j++) areaB[j] = area(b, j);
  for (let i = 0; i < n; i++) {
    const p = i * 4;
    const ax1 = a[p]!;
    const ay1 = a[p + 1]!;
    const ax2 = a[p + 2]!;
    const ay2 = a[p + 3]!;
    const areaA = Math.max(0, ax2 - ax1) * Math.max(0, ay2 - ay1);
    for (let j = 0; j < m; j++) {
      const q = j * 4;
      const iw = Math.min(ax2, b[q + 2]!) - Math.max(ax1, b[q]!);
      if (iw <= 0) continue;
      const ih = Math.min(ay2, b[q + 3]!) - Math.max(ay1, b[q + 1]!);
      if (ih <= 0) continue;
      const inter = iw * ih;
      const union = areaA + areaB[j]! - inter;
      out[i * m + j] = union > 0 ? inter / union : 0;
    }
  }
  return out;
}

/** Clips every box to [0, width] × [0, height], in place. */
export function clipBoxes(boxes: BoxArray, width: number, height: number): BoxArray {
  for (let o = 0; o < boxes.length; o += 4) {
    boxes[o] = Math.min(Math.max(boxes[o]!, 0), width);
    boxes[o + 1] = Math.min(Math.max(boxes[o + 1]!, 0), height);
    boxes[o + 2] = Math.min(Math.max(boxes[o + 2]!, 0), width);
    boxes[o + 3] = Math.min(Math.max(boxes[o + 3]!, 0), height);
  }
  return boxes;
}

/** Rows `indices` of `boxes`, in that order. */
export function selectBoxes(boxes: BoxArray, indices: ArrayLike<number>): BoxArray {
  const out = new Float32Array(indices.length * 4);
  for (let k = 0; k < indices.length; k++)
    out.set(boxes.subarray(indices[k]! * 4, indices[k]! * 4 + 4), k * 4);
  return out;
}

export function concatBoxes(parts: BoxArray[]): BoxArray {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function cocoToXyxy(bbox: readonly number[]): [number, number, number, number] {
  return [bbox[0]!, bbox[1]!, bbox[0]! + bbox[2]!, bbox[1]! + bbox[3]!];
}
