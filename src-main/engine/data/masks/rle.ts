/**
 * COCO run-length encoding, as pycocotools' common/maskApi.c computes it (rleEncode, rleDecode,
 * rleArea, rleToBbox, rleMerge), written from a reading of that file. Counts run over the pixels in
 * column-major order and start with a run of zeros (possibly empty). Pure TypeScript.
 */
import type { BinaryMask, CocoRle } from './mask-types';

/** An RLE whose counts are plain numbers (pycocotools' in-memory RLE). */
export interface Rle extends CocoRle {
  counts: number[];
}

/** RLE of a decoded (row-major) mask: walks columns top to bottom, as rleEncode on a Fortran array. */
export function encodeMask(mask: BinaryMask): Rle {
  const { height: h, width: w, data } = mask;
  const counts: number[] = [];
  let prev = 0;
  let run = 0;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      const v = data[y * w + x] ? 1 : 0;
      if (v !== prev) {
        counts.push(run);
        run = 0;
        prev = v;
      }
      run++;
    }
  }
  counts.push(run);
  return { size: [h, w], counts };
}

/**
 * One RLE per label 0..labels-1 of a label map (row-major, e.g. the topmost object at each pixel or an
 * instance-index PNG) in a single column-major pass; values outside 0..labels-1 belong to none.
 */
export function encodeLabelMap(map: ArrayLike<number>, height: number, width: number, labels: number): Rle[] {
  const counts: number[][] = Array.from({ length: labels }, () => []);
  // per label: index of the first pixel of its current run and whether that run is foreground
  const runStart = new Float64Array(labels);
  const inside = new Uint8Array(labels);
  for (let x = 0, p = 0; x < width; x++) {
    for (let y = 0; y < height; y++, p++) {
      const l = map[y * width + x]!;
      // a label's state changes only where it starts or stops: at most two labels per pixel
      const prev = y > 0 ? map[(y - 1) * width + x]! : x > 0 ? map[(height - 1) * width + x - 1]! : -1;
      if (l === prev) continue;
      if (l >= 0 && l < labels && !inside[l]) {
        counts[l]!.push(p - runStart[l]!);
        runStart[l] = p;
        inside[l] = 1;
      }
      if (prev >= 0 && prev < labels && inside[prev]) {
        counts[prev]!.push(p - runStart[prev]!);
        runStart[prev] = p;
        inside[prev] = 0;
      }
    }
  }
  const n = height * width;
  return counts.map((c, l) => {
    c.push(n - runStart[l]!);
    return { size: [height, width], counts: c };
  });
}

/** Sum of the counts; a well-formed RLE covers exactly height * width pixels. */
function rleLength(rle: Rle): number {
  let n = 0;
  for (const c of rle.counts) n += c;
  return n;
}

/**
 * Problem with an RLE's shape, or null: non-negative integer counts summing to height * width.
 * pycocotools does not check (it reads or writes past the mask); the importers and evaluator do.
 */
export function rleProblem(rle: Rle): string | null {
  const [h, w] = rle.size;
  if (!Number.isSafeInteger(h) || !Number.isSafeInteger(w) || h < 0 || w < 0)
    return `size ${JSON.stringify(rle.size)} is not [height, width] in non-negative integers`;
  for (let j = 0; j < rle.counts.length; j++) {
    const c = rle.counts[j]!;
    if (!Number.isSafeInteger(c) || c < 0) return `counts[${j}] = ${c} is not a non-negative integer`;
  }
  const n = rleLength(rle);
  if (n !== h * w) return `counts sum to ${n} pixels but size ${h}x${w} has ${h * w}`;
  return null;
}

/** Decoded mask (row-major) of an RLE; throws when the counts do not cover the mask exactly. */
export function decodeRle(rle: Rle): BinaryMask {
  const problem = rleProblem(rle);
  if (problem) throw new Error(`bad RLE: ${problem}`);
  const [h, w] = rle.size;
  const data = new Uint8Array(h * w);
  let p = 0;
  for (let j = 0; j < rle.counts.length; j++) {
    const c = rle.counts[j]!;
    if (j % 2 === 1) {
      for (let k = p; k < p + c; k++) {
        // column-major index k -> (x, y)
        const x = Math.floor(k / h);
        data[(k - x * h) * w + x] = 1;
      }
    }
    p += c;
  }
  return { height: h, width: w, data };
}

/** Number of foreground pixels (rleArea: the sum of the odd-indexed counts). */
export function rleArea(rle: Rle): number {
  let a = 0;
  for (let j = 1; j < rle.counts.length; j += 2) a += rle.counts[j]!;
  return a;
}

/**
 * Tight box [x, y, w, h] of the foreground (rleToBbox), [0, 0, 0, 0] for an empty mask. A run that
 * crosses a column boundary spans every row, so the box then takes the full height, as pycocotools'
 * current rleToBbox does.
 */
export function rleToBbox(rle: Rle): [number, number, number, number] {
  const [h, w] = rle.size;
  const m = Math.floor(rle.counts.length / 2) * 2;
  if (m === 0) return [0, 0, 0, 0];
  let xs = w;
  let ys = h;
  let xe = 0;
  let ye = 0;
  let cc = 0;
  let xp = 0;
  for (let j = 0; j < m; j++) {
    cc += rle.counts[j]!;
    // the first pixel of a foreground run (j even ends a background run) or its last pixel (j odd)
    const t = cc - (j % 2);
    const y = t % h;
    const x = (t - y) / h;
    if (j % 2 === 0) xp = x;
    else if (xp < x) {
      ys = 0;
      ye = h - 1;
    }
    xs = Math.min(xs, x);
    xe = Math.max(xe, x);
    ys = Math.min(ys, y);
    ye = Math.max(ye, y);
  }
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}

/**
 * Walks two RLEs of one size together as maskApi.c's rleMerge and rleIou do: `visit` gets each
 * stretch over which neither changes (its length, possibly 0 where a count is 0, and both values).
 */
function walkRuns(
  a: readonly number[],
  b: readonly number[],
  visit: (len: number, va: boolean, vb: boolean) => void,
): void {
  let ca = a[0] ?? 0;
  let cb = b[0] ?? 0;
  let ia = 1;
  let ib = 1;
  let va = false;
  let vb = false;
  let ct = 1;
  while (ct > 0) {
    const c = Math.min(ca, cb);
    visit(c, va, vb);
    ct = 0;
    ca -= c;
    if (!ca && ia < a.length) {
      ca = a[ia++]!;
      va = !va;
    }
    ct += ca;
    cb -= c;
    if (!cb && ib < b.length) {
      cb = b[ib++]!;
      vb = !vb;
    }
    ct += cb;
  }
}

/**
 * Union (or intersection) of RLEs of one size, as rleMerge. Throws on differing sizes (pycocotools
 * silently returns an empty 0x0 RLE there). An empty list is refused: it has no size.
 */
export function mergeRles(rles: Rle[], intersect = false): Rle {
  if (rles.length === 0) throw new Error('mergeRles: no RLE to merge');
  const [h, w] = rles[0]!.size;
  let acc = rles[0]!.counts.slice();
  for (let i = 1; i < rles.length; i++) {
    const B = rles[i]!;
    if (B.size[0] !== h || B.size[1] !== w)
      throw new Error(`mergeRles: size ${B.size.join('x')} differs from ${h}x${w}`);
    const out: number[] = [];
    // a run ends where the merged value changes; the first run is of zeros
    let v = false;
    let run = 0;
    walkRuns(acc, B.counts, (len, va, vb) => {
      const next = intersect ? va && vb : va || vb;
      if (next !== v) {
        out.push(run);
        run = 0;
        v = next;
      }
      run += len;
    });
    out.push(run);
    acc = out;
  }
  return { size: [h, w], counts: acc };
}

/** Foreground pixels shared by two RLEs of one size (the intersection walk of rleIou). */
export function rleIntersection(a: Rle, b: Rle): number {
  let inter = 0;
  walkRuns(a.counts, b.counts, (len, va, vb) => {
    if (va && vb) inter += len;
  });
  return inter;
}
