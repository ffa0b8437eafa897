/**
 * Polygon -> RLE exactly as pycocotools' rleFrPoly (common/maskApi.c), written from a reading of it:
 * the vertices are scaled by 5 and rounded, every edge is walked densely on that grid, the points
 * where the walk changes column are taken back to pixel columns (only those landing on a pixel
 * centre count), and each such point toggles the mask at the first pixel of its column at or below
 * the edge. Sorting those toggles by column-major index gives the run lengths. Parity of crossings
 * decides inside, so self-intersecting polygons give pycocotools' (even-odd-like) result too.
 */
import type { Rle } from './rle';
import { mergeRles } from './rle';

/** C's (int) conversion of a double: truncation toward zero. */
const cInt = (v: number) => Math.trunc(v);

/** RLE of one polygon [x0, y0, x1, y1, ...] on an h x w image (rleFrPoly; k = floor(len / 2) points). */
export function polygonToRle(xy: readonly number[], h: number, w: number): Rle {
  const scale = 5;
  const k = Math.floor(xy.length / 2);
  const x: number[] = [];
  const y: number[] = [];
  for (let j = 0; j < k; j++) x.push(cInt(scale * xy[2 * j]! + 0.5));
  for (let j = 0; j < k; j++) y.push(cInt(scale * xy[2 * j + 1]! + 0.5));
  x.push(x[0] ?? 0);
  y.push(y[0] ?? 0);
  // dense boundary points on the upsampled grid, one per step of the edge's longer axis
  const u: number[] = [];
  const v: number[] = [];
  for (let j = 0; j < k; j++) {
    let xs = x[j]!;
    let xe = x[j + 1]!;
    let ys = y[j]!;
    let ye = y[j + 1]!;
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    // walk each edge in increasing order of its longer axis, so that rounding is direction-free
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      [xs, xe] = [xe, xs];
      [ys, ye] = [ye, ys];
    }
    if (dx >= dy) {
      const s = (ye - ys) / dx;
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u.push(t + xs);
        v.push(cInt(ys + s * t + 0.5));
      }
    } else {
      const s = (xe - xs) / dy;
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v.push(t + ys);
        u.push(cInt(xs + s * t + 0.5));
      }
    }
  }
  // column changes that land on a pixel centre, taken back to pixel coordinates
  const toggles: number[] = [];
  for (let j = 1; j < u.length; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j]! < u[j - 1]! ? u[j]! : u[j]! - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j]! < v[j - 1]! ? v[j]! : v[j - 1]!;
    yd = (yd + 0.5) / scale - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > h) yd = h;
    yd = Math.ceil(yd);
    toggles.push(xd * h + yd);
  }
  toggles.push(h * w);
  toggles.sort((a, b) => a - b);
  // differences; a zero difference (two toggles at one pixel) cancels: fold the next run into the last
  let prev = 0;
  const diffs = toggles.map((t) => {
    const d = t - prev;
    prev = t;
    return d;
  });
  const counts: number[] = [diffs[0]!];
  for (let j = 1; j < diffs.length;) {
    if (diffs[j]! > 0) counts.push(diffs[j++]!);
    else {
      j++;
      if (j < diffs.length) counts[counts.length - 1] = counts[counts.length - 1]! + diffs[j++]!;
    }
  }
  return { size: [h, w], counts };
}

/** One RLE for an object's polygons (pycocotools' annToRLE: frPyObjects then merge). */
export function polygonsToRle(polygons: readonly (readonly number[])[], h: number, w: number): Rle {
  if (polygons.length === 0) return { size: [h, w], counts: [h * w] };
  return mergeRles(polygons.map((p) => polygonToRle(p, h, w)));
}

/** RLE of boxes [x, y, w, h] (rleFrBbox: each box as a four-point polygon), merged. */
export function boxesToRle(boxes: readonly (readonly number[])[], h: number, w: number): Rle {
  return mergeRles(boxes.map((b) => boxToRle(b, h, w)));
}

/** One [x, y, w, h] box as the four-point polygon pycocotools' frBbox rasterises. */
export function boxToRle([x, y, bw, bh]: readonly number[], h: number, w: number): Rle {
  const xe = x! + bw!;
  const ye = y! + bh!;
  return polygonToRle([x!, y!, x!, ye, xe, ye, xe, y!], h, w);
}
