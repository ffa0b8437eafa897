/**
 * Seeded random instance-mask data for the segm evaluator's tests: images up to 200×160 with blob
 * masks from a few pixels to large (all three COCO area ranges), ground truth as polygons, compressed
 * RLE and uncompressed crowd RLE, detections as compressed RLE (jittered copies of the gts, and false
 * positives) and score ties.
 */
import type { BinaryMask } from '../../../src-main/engine/data/masks/mask-types';
import { encodeMask, rleToBbox } from '../../../src-main/engine/data/masks/rle';
import { compressCounts } from '../../../src-main/engine/data/masks/rle-string';
import type {
  CocoAnnotation,
  CocoBox,
  CocoDataset,
  CocoDetection,
} from '../../../src-main/engine/eval/coco-types';
import { rng as mulberry32 } from '../ssl/reference';

export interface BlobShape {
  a: number;
  wob: number;
  k: number;
}
export const blobShape = (rnd: () => number): BlobShape => ({
  a: rnd() * Math.PI,
  wob: rnd() * 0.3,
  k: 2 + Math.floor(rnd() * 4),
});

/** A filled, rotated ellipse with a wobbly rim, as a dense mask. */
export function blob(
  rnd: () => number,
  h: number,
  w: number,
  cx: number,
  cy: number,
  rx: number,
  ry: number,
  shape: BlobShape = blobShape(rnd),
): BinaryMask {
  const data = new Uint8Array(h * w);
  const { a, wob, k } = shape;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      const u = (dx * Math.cos(a) + dy * Math.sin(a)) / rx;
      const v = (-dx * Math.sin(a) + dy * Math.cos(a)) / ry;
      const r = 1 + wob * Math.sin(k * Math.atan2(v, u));
      if (u * u + v * v <= r * r) data[y * w + x] = 1;
    }
  return { height: h, width: w, data };
}

const area = (m: BinaryMask) => m.data.reduce((s, v) => s + v, 0);

/** A polygon around a blob's centre: the gt as annotators draw it (may cross itself when jagged). */
function polygonAround(rnd: () => number, cx: number, cy: number, rx: number, ry: number): number[] {
  const n = 5 + Math.floor(rnd() * 8);
  const out: number[] = [];
  for (let j = 0; j < n; j++) {
    const t = (2 * Math.PI * j) / n;
    const s = 0.92 + rnd() * 0.16;
    out.push(
      Math.round((cx + Math.cos(t) * rx * s) * 100) / 100,
      Math.round((cy + Math.sin(t) * ry * s) * 100) / 100,
    );
  }
  return out;
}

export function makeMaskData(seed: number): { gt: CocoDataset; dets: CocoDetection[] } {
  const rnd = mulberry32(seed);
  const images = Array.from({ length: 30 }, (_, i) => ({
    id: 10 + i,
    width: 80 + Math.floor(rnd() * 121),
    height: 60 + Math.floor(rnd() * 101),
  }));
  const categories = [
    { id: 1, name: 'a' },
    { id: 2, name: 'b' },
  ];
  const annotations: CocoAnnotation[] = [];
  const dets: CocoDetection[] = [];
  let annId = 1;
  const score = () => (rnd() < 0.15 ? 0.5 : Math.round(rnd() * 1000) / 1000); // some ties
  for (const im of images) {
    const { width: w, height: h } = im;
    const nGt = Math.floor(rnd() * 5);
    for (let g = 0; g < nGt; g++) {
      const category_id = 1 + Math.floor(rnd() * 2);
      // log-uniform radii: a few pixels to most of the image
      const rx = Math.exp(Math.log(2) + rnd() * Math.log(Math.min(w, h) / 2 / 1.2));
      const ry = rx * (0.5 + rnd());
      const cx = rnd() * w;
      const cy = rnd() * h;
      const kind = rnd();
      const crowd = kind < 0.1;
      const shape = blobShape(rnd);
      const m = blob(rnd, h, w, cx, cy, rx, ry, shape);
      if (area(m) === 0) continue;
      const rle = encodeMask(m);
      let segmentation: CocoAnnotation['segmentation'];
      if (crowd) segmentation = rle;
      else if (kind < 0.55) segmentation = [polygonAround(rnd, cx, cy, rx, ry)];
      else segmentation = { size: rle.size, counts: compressCounts(rle.counts) };
      // the annotation's area is its own number (COCO's polygon areas are not pixel counts)
      const a = Math.round(area(m) * (0.9 + rnd() * 0.2) * 100) / 100;
      annotations.push({
        id: annId++,
        image_id: im.id,
        category_id,
        bbox: rleToBbox(rle) as CocoBox,
        area: a,
        iscrowd: crowd ? 1 : 0,
        segmentation,
      });
      // detections of it: a few jittered copies, sometimes none
      const copies = Math.floor(rnd() * 3);
      for (let c = 0; c < copies; c++) {
        const j = () => (rnd() - 0.5) * rx * 0.25;
        const dm = blob(rnd, h, w, cx + j(), cy + j(), rx * (0.9 + rnd() * 0.2), ry * (0.9 + rnd() * 0.2), {
          ...shape,
          a: shape.a + (rnd() - 0.5) * 0.3,
        });
        if (area(dm) === 0) continue;
        const drle = encodeMask(dm);
        dets.push({
          image_id: im.id,
          category_id: rnd() < 0.85 ? category_id : 3 - category_id,
          bbox: rleToBbox(drle) as CocoBox,
          score: score(),
          segmentation: { size: drle.size, counts: compressCounts(drle.counts) },
        });
      }
    }
    // false positives
    const nFp = Math.floor(rnd() * 3);
    for (let f = 0; f < nFp; f++) {
      const rx = 2 + rnd() * 20;
      const dm = blob(rnd, h, w, rnd() * w, rnd() * h, rx, rx * (0.5 + rnd()));
      if (area(dm) === 0) continue;
      const drle = encodeMask(dm);
      dets.push({
        image_id: im.id,
        category_id: 1 + Math.floor(rnd() * 2),
        bbox: rleToBbox(drle) as CocoBox,
        score: score(),
        segmentation: { size: drle.size, counts: compressCounts(drle.counts) },
      });
    }
  }
  return { gt: { images, annotations, categories }, dets };
}
