/**
 * COCO segm evaluation (evaluateCoco with iouType 'segm'): hand-derived cases whose 12 stats are
 * worked out in the comments, box-shaped masks that must give exactly the bbox evaluation's numbers,
 * seeded random masks against a dense per-pixel IoU and a plain AP computation written here, and a
 * frozen reference (fixtures/cocoeval-segm-reference.json; its `provenance` says who made it) that
 * pycocotools checks live wherever it can be imported.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { BinaryMask } from '../../../src-main/engine/data/masks/mask-types';
import { boxesToRle } from '../../../src-main/engine/data/masks/polygon';
import { encodeMask } from '../../../src-main/engine/data/masks/rle';
import { compressCounts } from '../../../src-main/engine/data/masks/rle-string';
import { defaultCocoParams, evaluateCoco } from '../../../src-main/engine/eval/cocoeval';
import type {
  CocoAnnotation,
  CocoBox,
  CocoDataset,
  CocoDetection,
} from '../../../src-main/engine/eval/coco-types';
import { rng as mulberry32 } from '../ssl/reference';
import { makeData } from './cocoeval-random-data';
import { blob, blobShape, makeMaskData } from './cocoeval-segm-data';
import { digest, findPycocotools } from './pycocotools-live';
import { removeTempDir, tempDir } from '../../temp-dir';

/** A dense mask from a pixel predicate, and its RLE in the results format (compressed counts). */
function dense(h: number, w: number, on: (x: number, y: number) => boolean): BinaryMask {
  const data = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = on(x, y) ? 1 : 0;
  return { height: h, width: w, data };
}
const compressed = (m: BinaryMask) => {
  const r = encodeMask(m);
  return { size: r.size, counts: compressCounts(r.counts) };
};
const rect = (x0: number, y0: number, x1: number, y1: number) => (x: number, y: number) =>
  x >= x0 && x <= x1 && y >= y0 && y <= y1;
function expectStats(got: number[], want: number[]) {
  want.forEach((v, j) => expect(got[j], `stat ${j}`).toBeCloseTo(v, 12));
}

/** A ground-truth annotation of category 1 with its mask. */
const gtAnn = (
  id: number,
  image_id: number,
  bbox: CocoBox,
  area: number,
  iscrowd: 0 | 1,
  segmentation: CocoAnnotation['segmentation'],
): CocoAnnotation => ({ id, image_id, category_id: 1, bbox, area, iscrowd, segmentation });
/** A category-1 detection whose mask is the pixels `on` selects. */
const maskDet = (
  image_id: number,
  bbox: CocoBox,
  score: number,
  h: number,
  w: number,
  on: (x: number, y: number) => boolean,
): CocoDetection => ({ image_id, category_id: 1, bbox, score, segmentation: compressed(dense(h, w, on)) });
const oneImage = (id: number, w: number, h: number, annotations: CocoAnnotation[]): CocoDataset => ({
  images: [{ id, width: w, height: h }],
  annotations,
  categories: [{ id: 1, name: 'thing' }],
});

describe('segm evaluation, hand-derived', () => {
  it('scores masks, not boxes: a detection with the right box and 5 of 8 pixels', () => {
    // 10×10 image. gt1 = polygon square x 0..3, y 0..3 (16 px); gt2 = RLE x 6..9, y 6..7 (8 px).
    // d1 (0.9) = gt1's pixels: IoU 1. d2 (0.8) = 5 of gt2's pixels with gt2's box: mask IoU 5/8, box
    // IoU 1. d3 (0.7) hits nothing. At IoU .50/.55/.60 d2 matches: TP, TP, FP -> AP 1. At the 7
    // thresholds from .65, d2 is an FP: recall 1/2, 1/2, 1/2 with precision 1, 1/2, 1/3 -> the 51
    // recall points up to .50 read 1, the rest 0: AP 51/101. AP = (3 + 7·51/101)/10; AP50 = 1;
    // AP75 = 51/101. Every area is under 32²: small = all, medium and large have no gt (-1).
    // AR@1 keeps d1 only: 1/2 at every threshold. AR@10 = AR@100 = (3·1 + 7·1/2)/10 = 0.65.
    const gt = oneImage(1, 10, 10, [
      gtAnn(1, 1, [0, 0, 4, 4], 16, 0, [[0, 0, 4, 0, 4, 4, 0, 4]]),
      gtAnn(2, 1, [6, 6, 4, 2], 8, 0, compressed(dense(10, 10, rect(6, 6, 9, 7)))),
    ]);
    const five = new Set(['6,6', '9,6', '6,7', '9,7', '7,6']);
    const dets = [
      maskDet(1, [0, 0, 4, 4], 0.9, 10, 10, rect(0, 0, 3, 3)),
      maskDet(1, [6, 6, 4, 2], 0.8, 10, 10, (x, y) => five.has(`${x},${y}`)),
      maskDet(1, [0, 8, 2, 2], 0.7, 10, 10, rect(0, 8, 1, 9)),
    ];
    const ap = (3 + (7 * 51) / 101) / 10;
    const segm = evaluateCoco(gt, dets, { iouType: 'segm' });
    expectStats(segm.stats, [ap, 1, 51 / 101, ap, -1, -1, 0.5, 0.65, 0.65, 0.65, -1, -1]);
    expect(segm.params.iouType).toBe('segm');
    expect(segm.warnings).toEqual([]);
    // the same detections scored by their boxes: d2 is a perfect match
    expectStats(evaluateCoco(gt, dets).stats, [1, 1, 1, 1, -1, -1, 0.5, 1, 1, 1, -1, -1]);
  });

  it('divides by the detection’s area against a crowd region', () => {
    // 20×20 image. g1 = polygon x 12..15, y 12..15 (16 px). Crowd c = uncompressed RLE x 0..9,
    // y 0..9. d2 (0.95) = x 2..3, y 2..3: all inside c, crowd IoU 4/4 = 1 -> ignored at every
    // threshold. d3 (0.9) = x 8..11, y 0..1: 4 of its 8 px in c, crowd IoU .5 (plain IoU 4/104):
    // ignored at .50, an FP from .55. d1 (0.8) = g1's pixels. At .50: d1 alone counts, AP 1. From
    // .55: FP then TP, recall 0, 1 with precision 0, 1/2 -> envelope 1/2 everywhere, AP 1/2.
    // AP = (1 + 9·1/2)/10 = .55, AP50 1, AP75 .5. AR@1 keeps d2 (ignored): 0. AR@10 = AR@100 = 1.
    const gt = oneImage(7, 20, 20, [
      gtAnn(1, 7, [12, 12, 4, 4], 16, 0, [[12, 12, 16, 12, 16, 16, 12, 16]]),
      gtAnn(2, 7, [0, 0, 10, 10], 100, 1, encodeMask(dense(20, 20, rect(0, 0, 9, 9)))),
    ]);
    const dets = [
      maskDet(7, [2, 2, 2, 2], 0.95, 20, 20, rect(2, 2, 3, 3)),
      maskDet(7, [8, 0, 4, 2], 0.9, 20, 20, rect(8, 0, 11, 1)),
      maskDet(7, [12, 12, 4, 4], 0.8, 20, 20, rect(12, 12, 15, 15)),
    ];
    expectStats(
      evaluateCoco(gt, dets, { iouType: 'segm' }).stats,
      [0.55, 1, 0.5, 0.55, -1, -1, 0, 1, 1, 1, -1, -1],
    );
  });

  it('needs masks and image sizes, and says which', () => {
    const gt: CocoDataset = {
      images: [{ id: 1 }],
      annotations: [
        {
          id: 1,
          image_id: 1,
          category_id: 1,
          bbox: [0, 0, 4, 4],
          area: 16,
          segmentation: [[0, 0, 4, 0, 4, 4]],
        },
      ],
      categories: [{ id: 1, name: 'thing' }],
    };
    expect(() => evaluateCoco(gt, [], { iouType: 'segm' })).toThrow(/image 1 has no width and height/);
    const noMasks: CocoDataset = {
      ...gt,
      images: [{ id: 1, width: 8, height: 8 }],
      annotations: [{ ...gt.annotations[0]!, segmentation: undefined }],
    };
    expect(() => evaluateCoco(noMasks, [], { iouType: 'segm' })).toThrow(
      /none of the 1 evaluated ground-truth annotations has a segmentation/,
    );
  });
});

describe('segm evaluation equals bbox evaluation on box-shaped masks', () => {
  for (const seed of [1, 2]) {
    it(`all 12 stats and the precision array (seed ${seed})`, () => {
      // integer boxes inside the 640×480 images: each box's pixels are exactly its rectangle, so
      // mask IoU is box IoU (the same integers divided) and a mask's area is w*h
      const { gt, dets } = makeData(seed);
      const snap = (b: CocoBox): CocoBox | null => {
        const x0 = Math.max(0, Math.round(b[0]));
        const y0 = Math.max(0, Math.round(b[1]));
        const x1 = Math.min(640, Math.round(b[0] + b[2]));
        const y1 = Math.min(480, Math.round(b[1] + b[3]));
        return x1 > x0 && y1 > y0 ? [x0, y0, x1 - x0, y1 - y0] : null;
      };
      const annotations = gt.annotations.flatMap((a) => {
        const b = snap(a.bbox);
        if (!b) return [];
        const [x, y, bw, bh] = b;
        return [{ ...a, bbox: b, segmentation: [[x, y, x + bw, y, x + bw, y + bh, x, y + bh]] }];
      });
      // every other detection without a mask: evaluated as its box's polygon, as loadRes makes it
      const boxDets = dets.flatMap((d, j) => {
        const b = snap(d.bbox);
        if (!b) return [];
        if (j % 2 === 1) return [{ ...d, bbox: b }];
        const r = boxesToRle([b], 480, 640);
        return [{ ...d, bbox: b, segmentation: { size: r.size, counts: compressCounts(r.counts) } }];
      });
      const data = { ...gt, annotations };
      const bbox = evaluateCoco(data, boxDets);
      const segm = evaluateCoco(data, boxDets, { iouType: 'segm' });
      expect(bbox.stats[0]).toBeGreaterThan(0.05);
      expect(segm.stats).toEqual(bbox.stats);
      expect(segm.precision).toEqual(bbox.precision);
      expect(segm.recall).toEqual(bbox.recall);
      expect(segm.warnings.some((w) => /detections have no segmentation: their box is used/.test(w))).toBe(
        true,
      );
    });
  }
});

describe('segm evaluation against dense per-pixel IoU (seeded random masks)', () => {
  for (const seed of [3, 4, 5]) {
    it(`AP, AP50, AP75 and AR@100 equal a plain computation from dense IoUs (seed ${seed})`, () => {
      // Each image: left half a gt g and a detection d (IoU u), right half a crowd region c and a
      // detection e (crowd IoU v = |c∩e| / |e|). The halves never touch, so at threshold t: d is a
      // TP when u >= t, else an FP; e is ignored when v >= t, else an FP.
      const rnd = mulberry32(seed);
      const N = 40;
      const images = Array.from({ length: N }, (_, i) => ({ id: i + 1, width: 60, height: 30 + (i % 7) }));
      const gt: CocoDataset = { images, annotations: [], categories: [{ id: 1, name: 'x' }] };
      const dets: CocoDetection[] = [];
      const rows: { u: number; v: number; sd: number; se: number }[] = [];
      let id = 1;
      for (const im of images) {
        const h = im.height;
        const half = (m: BinaryMask, right: boolean) =>
          dense(h, 60, (x, y) => m.data[y * 60 + x] === 1 && x >= 30 === right);
        const r = 5 + rnd() * 7;
        const y0 = h / 2;
        const jit = (s: number) => (rnd() - 0.5) * s;
        // d: g's shape moved, scaled and turned a little; e: a small blob near or across c's rim
        const shape = blobShape(rnd);
        const g = half(blob(rnd, h, 60, 15, y0, r, r * 0.7, shape), false);
        const d = half(
          blob(
            rnd,
            h,
            60,
            15 + jit(r * 0.8),
            y0 + jit(r * 0.8),
            r * (0.8 + rnd() * 0.4),
            r * 0.7 * (0.8 + rnd() * 0.4),
            {
              ...shape,
              a: shape.a + jit(0.6),
            },
          ),
          false,
        );
        const c = half(blob(rnd, h, 60, 45, y0, r * 1.2, r), true);
        const e = half(blob(rnd, h, 60, 45 + jit(r * 2.4), y0 + jit(r), r * 0.6, r * 0.5), true);
        const count = (m: BinaryMask) => m.data.reduce((s, v) => s + v, 0);
        const both = (a: BinaryMask, b: BinaryMask) => a.data.reduce((s, v, p) => s + (v & b.data[p]!), 0);
        expect(Math.min(count(g), count(d), count(c), count(e))).toBeGreaterThan(0);
        const ig = both(g, d);
        const u = ig / (count(g) + count(d) - ig);
        const v = both(c, e) / count(e);
        const sd = rnd();
        const se = rnd();
        rows.push({ u, v, sd, se });
        gt.annotations.push(
          {
            id: id++,
            image_id: im.id,
            category_id: 1,
            bbox: [0, 0, 30, h],
            area: count(g),
            iscrowd: 0,
            segmentation: compressed(g),
          },
          {
            id: id++,
            image_id: im.id,
            category_id: 1,
            bbox: [30, 0, 30, h],
            area: count(c),
            iscrowd: 1,
            segmentation: encodeMask(c),
          },
        );
        dets.push(
          { image_id: im.id, category_id: 1, bbox: [0, 0, 30, h], score: sd, segmentation: compressed(d) },
          { image_id: im.id, category_id: 1, bbox: [30, 0, 30, h], score: se, segmentation: compressed(e) },
        );
      }
      // the data spans the thresholds: some pairs match at .5 only, some at .95
      expect(rows.some((r) => r.u >= 0.5 && r.u < 0.75)).toBe(true);
      expect(rows.some((r) => r.u >= 0.75)).toBe(true);
      expect(rows.some((r) => r.v >= 0.5 && r.v < 0.95)).toBe(true);

      const { iouThrs, recThrs } = defaultCocoParams();
      const perT = iouThrs.map((t0) => {
        const t = Math.min(t0, 1 - 1e-10);
        // every counted detection with its outcome, best score first
        const list: [number, boolean][] = [];
        for (const r of rows) {
          list.push([r.sd, r.u >= t]);
          if (r.v < t) list.push([r.se, false]);
        }
        list.sort((a, b) => b[0] - a[0]);
        const rec: number[] = [];
        const prec: number[] = [];
        let tp = 0;
        list.forEach(([, hit], j) => {
          if (hit) tp++;
          rec.push(tp / N);
          prec.push(tp / (j + 1));
        });
        // interpolated precision at r: the best precision at any recall >= r (0 if none)
        const ap =
          recThrs.reduce((s, r) => s + Math.max(0, ...prec.filter((_, j) => rec[j]! >= r)), 0) /
          recThrs.length;
        return { ap, recall: tp / N };
      });
      const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
      const want = {
        AP: mean(perT.map((p) => p.ap)),
        AP50: perT[0]!.ap,
        AP75: perT[5]!.ap,
        AR100: mean(perT.map((p) => p.recall)),
      };
      const s = evaluateCoco(gt, dets, { iouType: 'segm' }).stats;
      expect(s[0]).toBeCloseTo(want.AP, 12);
      expect(s[1]).toBeCloseTo(want.AP50, 12);
      expect(s[2]).toBeCloseTo(want.AP75, 12);
      expect(s[8]).toBeCloseTo(want.AR100, 12);
      expect(want.AP).toBeGreaterThan(0.05);
      expect(want.AP).toBeLessThan(0.95);
    });
  }
});

// ---- the frozen reference, and pycocotools live where it can be imported

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'cocoeval-segm-reference.json');
const SEEDS = [1, 2];
interface Reference {
  stats: number[];
  /** [count, sum, index-weighted sum] of COCOeval.eval['precision'] and ['recall'], row-major. */
  precision: [number, number, number];
  recall: [number, number, number];
}
interface Fixture {
  provenance: string;
  seeds: Record<string, Reference>;
}
const reference = (r: {
  stats: number[];
  precision: ArrayLike<number>;
  recall: ArrayLike<number>;
}): Reference => ({
  stats: [...r.stats],
  precision: digest(r.precision),
  recall: digest(r.recall),
});
function expectMatches(actual: Reference, want: Reference, what: string, tol: number): void {
  for (let j = 0; j < 12; j++)
    expect(Math.abs(actual.stats[j]! - want.stats[j]!), `${what} stat ${j}`).toBeLessThan(tol);
  for (const key of ['precision', 'recall'] as const) {
    expect(actual[key][0], `${what} ${key} size`).toBe(want[key][0]);
    for (const k of [1, 2])
      expect(Math.abs(actual[key][k]! - want[key][k]!), `${what} ${key} digest`).toBeLessThan(
        tol * Math.max(1, Math.abs(want[key][k]!)),
      );
  }
}

describe('segm evaluation against the frozen reference', () => {
  const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Fixture;
  it('says where its numbers come from', () => {
    expect(Object.keys(fixture.seeds)).toEqual(SEEDS.map(String));
    expect(fixture.provenance).toMatch(/\S{20}/);
  });
  for (const seed of SEEDS) {
    it(`reproduces the 12 stats and the precision/recall arrays (seed ${seed})`, () => {
      const { gt, dets } = makeMaskData(seed);
      expect(gt.annotations.length).toBeGreaterThan(30);
      expect(gt.annotations.some((a) => a.iscrowd)).toBe(true);
      const e = evaluateCoco(gt, dets, { iouType: 'segm' });
      expect(e.warnings).toEqual([]);
      expect(e.stats[0]).toBeGreaterThan(0.05);
      expect(e.stats[0]).toBeLessThan(0.95);
      expectMatches(reference(e), fixture.seeds[String(seed)]!, `seed ${seed}`, 1e-9);
    });
  }
});

const { python, skipReason } = findPycocotools(
  'live pycocotools segm cross-check (the frozen-reference check still runs)',
);
// The results file has no bbox, so that loadRes takes mask areas (detectron2 drops bbox for segm too).
const runner = `
import json, sys, io, contextlib
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(sys.argv[1])
    dt = gt.loadRes(sys.argv[2])
    E = COCOeval(gt, dt, 'segm')
    E.evaluate(); E.accumulate(); E.summarize()
print(json.dumps({'stats': [float(x) for x in E.stats], 'precision': E.eval['precision'].ravel().tolist(), 'recall': E.eval['recall'].ravel().tolist()}))
`;

describe.skipIf(Boolean(skipReason))('segm evaluation vs pycocotools, live', () => {
  const dir = skipReason ? '' : tempDir('cocoeval-segm-');
  afterAll(() => {
    if (dir) removeTempDir(dir);
  });
  const live: Fixture = {
    provenance:
      'pycocotools COCOeval(iouType="segm") on makeMaskData(seed) (test/engine/eval/cocoeval-segm.test.ts with SELFEMD_UPDATE_FIXTURES=1)',
    seeds: {},
  };
  for (const seed of SEEDS) {
    it(`pycocotools agrees with ours and with the fixture (seed ${seed})`, () => {
      const { gt, dets } = makeMaskData(seed);
      // without bbox, so that loadRes takes the segm branch and mask areas
      const results = dets.map((d) => ({ ...d, bbox: undefined }));
      const gtPath = join(dir, `gt-${seed}.json`);
      const dtPath = join(dir, `dt-${seed}.json`);
      writeFileSync(gtPath, JSON.stringify(gt));
      writeFileSync(dtPath, JSON.stringify(results));
      const out = spawnSync(python, ['-c', runner, gtPath, dtPath], { encoding: 'utf8', maxBuffer: 1 << 28 });
      expect(out.status, out.stderr).toBe(0);
      const ref = JSON.parse(out.stdout) as { stats: number[]; precision: number[]; recall: number[] };
      const ours = evaluateCoco(gt, dets, { iouType: 'segm' });
      expectMatches(reference(ours), reference(ref), `seed ${seed} vs pycocotools`, 1e-9);
      live.seeds[String(seed)] = reference(ref);
      if (process.env.SELFEMD_UPDATE_FIXTURES === '1' && Object.keys(live.seeds).length === SEEDS.length)
        writeFileSync(FIXTURE, `${JSON.stringify(live, null, 1)}\n`);
    });
  }
});
