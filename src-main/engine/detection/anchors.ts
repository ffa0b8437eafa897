/**
 * Anchors of one feature level (detectron2's DefaultAnchorGenerator, offset 0): for every cell
 * (y, x) of an H × W map of stride s, the cell anchors centred at (x·s, y·s). Cell anchors are
 * ordered size-major then ratio (ratio = height / width, area = size²). The flat order
 * ((y·W + x)·A + a) is the order of a head's [N, H, W, A·K] output reshaped to [N, H·W·A, K].
 */
import type { BoxArray } from './boxes';

export interface AnchorLevelSpec {
  stride: number;
  /** Anchor sizes (√area) of this level. */
  sizes: number[];
  ratios: number[];
}

/** The A cell anchors of a level, centred at (0, 0): [A × 4]. */
export function cellAnchors(sizes: readonly number[], ratios: readonly number[]): BoxArray {
  const out = new Float32Array(sizes.length * ratios.length * 4);
  let o = 0;
  for (const size of sizes) {
    for (const ratio of ratios) {
      const w = Math.sqrt((size * size) / ratio);
      const h = ratio * w;
      out.set([-w / 2, -h / 2, w / 2, h / 2], o);
      o += 4;
    }
  }
  return out;
}

/** All anchors of a level on an H × W map: [(H·W·A) × 4]. */
export function gridAnchors(spec: AnchorLevelSpec, height: number, width: number): BoxArray {
  const cell = cellAnchors(spec.sizes, spec.ratios);
  const a = cell.length / 4;
  const out = new Float32Array(height * width * a * 4);
  let o = 0;
  for (let y = 0; y < height; y++) {
    const cy = y * spec.stride;
    for (let x = 0; x < width; x++) {
      const cx = x * spec.stride;
      for (let k = 0; k < cell.length; k += 4) {
        out[o++] = cell[k]! + cx;
        out[o++] = cell[k + 1]! + cy;
        out[o++] = cell[k + 2]! + cx;
        out[o++] = cell[k + 3]! + cy;
      }
    }
  }
  return out;
}

export interface MultiLevelAnchors {
  /** All levels concatenated, level-major. */
  boxes: BoxArray;
  /** Anchor count of each level, and the index of each level's first anchor. */
  counts: number[];
  starts: number[];
  perCell: number;
}

export function multiLevelAnchors(specs: AnchorLevelSpec[], shapes: [number, number][]): MultiLevelAnchors {
  const parts = specs.map((s, i) => gridAnchors(s, shapes[i]![0], shapes[i]![1]));
  const counts = parts.map((p) => p.length / 4);
  const starts: number[] = [];
  let total = 0;
  for (const c of counts) {
    starts.push(total);
    total += c;
  }
  const boxes = new Float32Array(total * 4);
  parts.forEach((p, i) => boxes.set(p, starts[i]! * 4));
  const perCell = specs[0] ? specs[0].sizes.length * specs[0].ratios.length : 0;
  return { boxes, counts, starts, perCell };
}
