/**
 * What importers do with an instance mask read from a file: keep it, or skip it with a reason (the
 * annotation's box is kept either way). A mask is skipped when it cannot mean one object on this
 * image: polygons that are not lists of finite numbers, have an odd number of coordinates, fewer than
 * three distinct points, zero area, cross themselves, or cover no pixel; RLEs whose size is not the
 * image's, whose counts do not cover it exactly, or that are empty.
 */
import type { CocoPolygons, CocoRle, InstanceSegmentation } from './mask-types';
import { polygonsToRle } from './polygon';
import { rleArea, type Rle } from './rle';
import { toPlainRle } from './segmentation';

export type SegmentationVerdict =
  | { kind: 'ok'; segmentation: InstanceSegmentation; rle: Rle; area: number }
  /** `at`: where in the segmentation the problem is, as a JSONPath suffix ("[1]", ".size"). */
  | { kind: 'skip'; problem: string; at: string };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Twice the signed area (shoelace) of a closed polygon given as points. */
function doubleArea(pts: readonly [number, number][]): number {
  let s = 0;
  for (let i = 0; i < pts.length; i++) {
    const [x0, y0] = pts[i]!;
    const [x1, y1] = pts[(i + 1) % pts.length]!;
    s += x0 * y1 - x1 * y0;
  }
  return s;
}

const orient = (a: [number, number], b: [number, number], c: [number, number]) =>
  Math.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]));

/** Whether segments ab and cd cross at a point inside both, or overlap along a stretch (collinear). */
function segmentsCross(
  a: [number, number],
  b: [number, number],
  c: [number, number],
  d: [number, number],
): boolean {
  const o1 = orient(a, b, c);
  const o2 = orient(a, b, d);
  const o3 = orient(c, d, a);
  const o4 = orient(c, d, b);
  if (o1 * o2 < 0 && o3 * o4 < 0) return true;
  if (o1 === 0 && o2 === 0) {
    // collinear: overlapping by more than a point along the dominant axis
    const ax = Math.abs(b[0] - a[0]) >= Math.abs(b[1] - a[1]) ? 0 : 1;
    const lo1 = Math.min(a[ax], b[ax]);
    const hi1 = Math.max(a[ax], b[ax]);
    const lo2 = Math.min(c[ax], d[ax]);
    const hi2 = Math.max(c[ax], d[ax]);
    return Math.min(hi1, hi2) - Math.max(lo1, lo2) > 0;
  }
  return false;
}

/**
 * The first pair of non-adjacent edges that cross (indices of their first points), or null. A point
 * of one edge touching another is allowed; a proper crossing or a collinear overlap is not.
 */
function polygonSelfIntersection(pts: readonly [number, number][]): [number, number] | null {
  const n = pts.length;
  for (let i = 0; i < n; i++) {
    const a = pts[i]!;
    const b = pts[(i + 1) % n]!;
    for (let j = i + 1; j < n; j++) {
      // adjacent edges share a point; with three points every pair is adjacent
      if (j === i + 1 || (i === 0 && j === n - 1)) {
        // adjacent edges folding back onto each other overlap along a stretch
        const shared = j === i + 1 ? b : a;
        const p = j === i + 1 ? a : b;
        const q = j === i + 1 ? pts[(j + 1) % n]! : pts[j]!;
        if (
          orient(p, shared, q) === 0 &&
          (q[0] - shared[0]) * (p[0] - shared[0]) + (q[1] - shared[1]) * (p[1] - shared[1]) > 0
        )
          return [i, j];
        continue;
      }
      if (segmentsCross(a, b, pts[j]!, pts[(j + 1) % n]!)) return [i, j];
    }
  }
  return null;
}

function checkPolygons(seg: unknown[], width: number, height: number): SegmentationVerdict {
  if (seg.length === 0) return { kind: 'skip', problem: 'empty segmentation (no polygon)', at: '' };
  for (let k = 0; k < seg.length; k++) {
    const poly = seg[k];
    const at = `[${k}]`;
    if (!Array.isArray(poly))
      return { kind: 'skip', problem: `polygon ${k} is not a list of coordinates`, at };
    const bad = poly.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
    if (bad >= 0)
      return {
        kind: 'skip',
        problem: `polygon ${k} coordinate ${bad} (${JSON.stringify(poly[bad])}) is not a finite number`,
        at: `${at}[${bad}]`,
      };
    if (poly.length % 2 !== 0)
      return { kind: 'skip', problem: `polygon ${k} has an odd number of coordinates (${poly.length})`, at };
    // consecutive repeats (and a closing repeat of the first point) add nothing
    const pts: [number, number][] = [];
    for (let j = 0; j < poly.length; j += 2) {
      const p: [number, number] = [poly[j] as number, poly[j + 1] as number];
      const last = pts[pts.length - 1];
      if (!last || last[0] !== p[0] || last[1] !== p[1]) pts.push(p);
    }
    while (pts.length > 1 && pts[0]![0] === pts[pts.length - 1]![0] && pts[0]![1] === pts[pts.length - 1]![1])
      pts.pop();
    if (pts.length < 3)
      return {
        kind: 'skip',
        problem: `polygon ${k} has ${pts.length} distinct point${pts.length === 1 ? '' : 's'}, a polygon needs 3`,
        at,
      };
    if (pts.every((p) => orient(pts[0]!, pts[1]!, p) === 0))
      return { kind: 'skip', problem: `polygon ${k} has zero area (its points are collinear)`, at };
    const cross = polygonSelfIntersection(pts);
    if (cross)
      return {
        kind: 'skip',
        problem: `polygon ${k} intersects itself (edges from points ${cross[0]} and ${cross[1]} cross)`,
        at,
      };
    if (doubleArea(pts) === 0) return { kind: 'skip', problem: `polygon ${k} has zero area`, at };
  }
  const rle = polygonsToRle(seg as CocoPolygons, height, width);
  const area = rleArea(rle);
  if (area === 0)
    return { kind: 'skip', problem: `polygons cover no pixel of the ${width}×${height} image`, at: '' };
  return { kind: 'ok', segmentation: seg as CocoPolygons, rle, area };
}

function checkRle(seg: Record<string, unknown>, width: number, height: number): SegmentationVerdict {
  const size = seg.size;
  if (
    !Array.isArray(size) ||
    size.length !== 2 ||
    !size.every((v) => Number.isSafeInteger(v) && (v as number) >= 0)
  )
    return { kind: 'skip', problem: `RLE size ${JSON.stringify(size)} is not [height, width]`, at: '.size' };
  if (size[0] !== height || size[1] !== width)
    return {
      kind: 'skip',
      problem: `RLE size [${size.join(', ')}] (height, width) disagrees with the ${width}×${height} image`,
      at: '.size',
    };
  const counts = seg.counts;
  if (typeof counts !== 'string' && !(Array.isArray(counts) && counts.every((c) => typeof c === 'number')))
    return {
      kind: 'skip',
      problem: 'RLE counts are neither a list of numbers nor a compressed string',
      at: '.counts',
    };
  const given: CocoRle = { size: [height, width], counts: counts as number[] | string };
  let rle: Rle;
  try {
    rle = toPlainRle(given);
  } catch (err) {
    return { kind: 'skip', problem: `RLE counts: ${(err as Error).message}`, at: '.counts' };
  }
  const area = rleArea(rle);
  if (area === 0) return { kind: 'skip', problem: 'RLE mask is empty', at: '.counts' };
  return { kind: 'ok', segmentation: given, rle, area };
}

/** Checks a segmentation as read from a file against its image's size. */
export function checkSegmentation(seg: unknown, width: number, height: number): SegmentationVerdict {
  if (Array.isArray(seg)) return checkPolygons(seg, width, height);
  if (isObject(seg)) return checkRle(seg, width, height);
  return {
    kind: 'skip',
    problem: `segmentation ${JSON.stringify(seg)} is neither polygons nor an RLE`,
    at: '',
  };
}
