/**
 * Hand-derived cases for evaluateCoco. Each expected number is worked out in the comment above it
 * following pycocotools' rules: AP = mean over 10 IoU thresholds × 101 recall points of the precision
 * envelope at the first detection whose recall >= r (0 past the last detection).
 */
import { describe, expect, it } from 'vitest';
import {
  cocoBoxIou,
  COCO_STAT_NAMES,
  defaultCocoParams,
  evaluateCoco,
  formatCocoStats,
} from '../../../src-main/engine/eval/cocoeval';
import type {
  CocoAnnotation,
  CocoBox,
  CocoDataset,
  CocoDetection,
} from '../../../src-main/engine/eval/coco-types';

let nextId = 1;
function ann(image_id: number, bbox: CocoBox, extra: Partial<CocoAnnotation> = {}): CocoAnnotation {
  return { id: nextId++, image_id, category_id: 1, bbox, area: bbox[2] * bbox[3], iscrowd: 0, ...extra };
}
function det(image_id: number, bbox: CocoBox, score: number, category_id = 1): CocoDetection {
  return { image_id, category_id, bbox, score };
}
function dataset(
  imageIds: number[],
  annotations: CocoAnnotation[],
  cats = [{ id: 1, name: 'thing' }],
): CocoDataset {
  return { images: imageIds.map((id) => ({ id, width: 1000, height: 1000 })), annotations, categories: cats };
}
const stat = (stats: number[], name: (typeof COCO_STAT_NAMES)[number]) =>
  stats[COCO_STAT_NAMES.indexOf(name)]!;

describe('evaluateCoco, hand-derived', () => {
  it('uses the numpy linspace thresholds', () => {
    const p = defaultCocoParams();
    expect(p.iouThrs).toHaveLength(10);
    expect(p.recThrs).toHaveLength(101);
    expect(p.iouThrs[5]).toBe(0.75); // summarize() finds AP75 by exact equality
    expect(p.iouThrs[8]).toBe(0.8999999999999999); // as numpy produces it
    expect(p.recThrs[29]).toBe(0.29);
  });

  it('bbIou: plain, crowd (intersection over detection area), disjoint and touching', () => {
    // inter 50*100 = 5000, union 10000 + 10000 - 5000
    expect(cocoBoxIou([50, 0, 100, 100], [0, 0, 100, 100], false)).toBeCloseTo(1 / 3, 12);
    // crowd: 5000 / det area 10000
    expect(cocoBoxIou([50, 0, 100, 100], [0, 0, 100, 100], true)).toBe(0.5);
    expect(cocoBoxIou([100, 0, 10, 10], [0, 0, 100, 100], false)).toBe(0); // touching: w = 0
  });

  it('a single perfect detection of a large object', () => {
    // One TP: recall 1, precision 1 at every threshold. Area 10000 > 96² so only "large" has a gt;
    // small and medium have none and stay -1.
    const r = evaluateCoco(dataset([1], [ann(1, [10, 10, 100, 100])]), [det(1, [10, 10, 100, 100], 0.9)]);
    expect(r.stats).toEqual(
      [1, 1, 1, -1, -1, 1, 1, 1, 1, -1, -1, 1].map((v) => (v === 1 ? expect.closeTo(1, 12) : v)),
    );
    expect(r.perCategory.thing).toEqual({
      id: 1,
      ap: expect.closeTo(1, 12),
      ap50: expect.closeTo(1, 12),
      numGt: 1,
    });
    expect(r.warnings).toEqual([]);
    expect(formatCocoStats(r.stats).split('\n')[0]).toBe(
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000'.trimStart(),
    );
  });

  it('one false positive scored above the true positive', () => {
    // Order FP(0.9), TP(0.8): tp=[0,1], fp=[1,1], rc=[0,1], pr=[0,.5] -> envelope [.5,.5].
    // r=0 -> index 0 -> .5, r>0 -> index 1 -> .5: AP = .5 at every IoU. AR100 = 1.
    // maxDets=1 keeps only the FP: AR1 = 0. For "large" the FP (area 2500, medium) is unmatched and
    // outside the range, hence ignored: APl = 1. No small/medium gt: -1.
    const gt = dataset([1], [ann(1, [0, 0, 100, 100])]);
    const r = evaluateCoco(gt, [det(1, [300, 300, 50, 50], 0.9), det(1, [0, 0, 100, 100], 0.8)]);
    expect(r.stats[0]).toBeCloseTo(0.5, 12);
    expect(stat(r.stats, 'AP50')).toBeCloseTo(0.5, 12);
    expect(stat(r.stats, 'AP75')).toBeCloseTo(0.5, 12);
    expect(stat(r.stats, 'APl')).toBeCloseTo(1, 12);
    expect(stat(r.stats, 'APm')).toBe(-1);
    expect(stat(r.stats, 'AR1')).toBe(0);
    expect(stat(r.stats, 'AR10')).toBeCloseTo(1, 12);
    expect(stat(r.stats, 'AR100')).toBeCloseTo(1, 12);
  });

  it('a crowd region absorbs detections inside it, repeatedly, without counting them', () => {
    // d2 and d3 lie inside the crowd box: crowd IoU = inter / det area = 1, matched to an ignored gt,
    // so they are neither TP nor FP and d1 alone makes AP = 1. Without the crowd flag d2 (score .95,
    // IoU 2500/40000 with the big box) is an FP above d1: AP = .5 as in the case above.
    const crowd = ann(1, [200, 0, 200, 200], { iscrowd: 1 });
    const regular = ann(1, [0, 0, 100, 100]);
    const dets = [
      det(1, [0, 0, 100, 100], 0.9),
      det(1, [250, 50, 50, 50], 0.95),
      det(1, [210, 10, 40, 40], 0.7),
    ];
    const r = evaluateCoco(dataset([1], [regular, crowd]), dets);
    expect(r.stats[0]).toBeCloseTo(1, 12);
    expect(stat(r.stats, 'AR100')).toBeCloseTo(1, 12);
    expect(r.perCategory.thing!.numGt).toBeCloseTo(1, 12);
    const noCrowd = evaluateCoco(dataset([1], [regular, { ...crowd, iscrowd: 0 }]), dets);
    // now npig = 2 and the big box is missed: order d2 FP, d1 TP, d3 FP -> rc [0,.5,.5], pr [0,.5,1/3]
    // envelope [.5,.5,1/3]; r <= .5 (51 points) -> .5, beyond -> 0: AP = 25.5/101.
    expect(noCrowd.stats[0]).toBeCloseTo(25.5 / 101, 12);
  });

  it('the first regular match wins over a better ignored (crowd) gt, until the threshold excludes it', () => {
    // det vs regular gt: IoU 6000/10000 = .6; vs crowd gt (same box as det): 1. Gts are sorted with
    // ignored ones last; once a regular gt matched, the loop breaks at the first ignored gt. So for
    // t in {.5,.55,.6} the det is a TP (AP 1); for t >= .65 it matches the crowd gt, is ignored, and
    // the regular gt has no TP (AP 0). AP = 3/10, AP50 = 1, AP75 = 0.
    const gt = dataset([1], [ann(1, [0, 0, 100, 60], { iscrowd: 1 }), ann(1, [0, 0, 100, 100])]);
    const r = evaluateCoco(gt, [det(1, [0, 0, 100, 60], 0.9)]);
    expect(r.stats[0]).toBeCloseTo(0.3, 12);
    expect(stat(r.stats, 'AP50')).toBeCloseTo(1, 12);
    expect(stat(r.stats, 'AP75')).toBe(0);
  });

  it('a later gt with an IoU equal to the best so far takes the match', () => {
    // A=[0,0,100,100], B=[10,0,100,100]; d1=[5,0,100,100] has IoU 9500/10500 with both (identical
    // arithmetic), pycocotools keeps the later one (B). d2=[-5,0,100,100] then matches A with
    // 9500/10500 = .9048. Both TP for t <= .9 (9 thresholds), none at .95: AP = .9, AP75 = 1.
    // (Keeping the first gt instead would leave d2 with B at IoU .739: AP75 = 51/101.)
    const gt = dataset([1], [ann(1, [0, 0, 100, 100]), ann(1, [10, 0, 100, 100])]);
    const r = evaluateCoco(gt, [det(1, [5, 0, 100, 100], 0.9), det(1, [-5, 0, 100, 100], 0.8)]);
    expect(r.stats[0]).toBeCloseTo(0.9, 12);
    expect(stat(r.stats, 'AP75')).toBeCloseTo(1, 12);
  });

  it('detections on an image without gt are false positives; images without dets lower recall', () => {
    // Image 2 has no gt, its det (.9) is an FP ahead of the TP (.5) on image 1: AP = .5.
    // Image 3 has neither and changes nothing.
    const gt = dataset([1, 2, 3], [ann(1, [0, 0, 100, 100])]);
    const r = evaluateCoco(gt, [det(1, [0, 0, 100, 100], 0.5), det(2, [0, 0, 100, 100], 0.9)]);
    expect(r.stats[0]).toBeCloseTo(0.5, 12);
    expect(stat(r.stats, 'AR100')).toBeCloseTo(1, 12);
    // Add image 4 with a gt and no detection: npig = 2. Order FP, TP: rc [0,.5], pr [0,.5] -> env .5;
    // recall points 0..0.50 (51 of them) get .5, the rest 0: AP = 25.5/101; AR = .5.
    const gt2 = dataset([1, 2, 3, 4], [ann(1, [0, 0, 100, 100]), ann(4, [0, 0, 100, 100])]);
    const r2 = evaluateCoco(gt2, [det(1, [0, 0, 100, 100], 0.5), det(2, [0, 0, 100, 100], 0.9)]);
    expect(r2.stats[0]).toBeCloseTo(25.5 / 101, 12);
    expect(stat(r2.stats, 'AR100')).toBe(0.5);
  });

  it('maxDets: only the 100 best-scored detections per image and category are kept', () => {
    const gt = dataset([1], [ann(1, [0, 0, 100, 100])]);
    const fps = (n: number, cat = 1) =>
      Array.from({ length: n }, (_, j) => det(1, [500 + j, 500, 20, 20], 0.9, cat));
    // 99 FPs above the TP: the TP is the 100th and survives. At recall 1 precision is 1/100 and the
    // envelope makes every recall point .01: AP = .01; AR100 = 1, AR10 = AR1 = 0.
    const r99 = evaluateCoco(gt, [...fps(99), det(1, [0, 0, 100, 100], 0.5)]);
    expect(r99.stats[0]).toBeCloseTo(0.01, 12);
    expect(stat(r99.stats, 'AR100')).toBeCloseTo(1, 12);
    expect(stat(r99.stats, 'AR10')).toBe(0);
    // 100 FPs above: the TP is the 101st and is cut: AP = 0, AR100 = 0.
    const r100 = evaluateCoco(gt, [...fps(100), det(1, [0, 0, 100, 100], 0.5)]);
    expect(r100.stats[0]).toBe(0);
    expect(stat(r100.stats, 'AR100')).toBe(0);
    // The cut is per category: 100 FPs of another category (one without gt) leave AP = 1, and that
    // category's -1 is left out of the mean.
    const gt2 = dataset(
      [1],
      [ann(1, [0, 0, 100, 100])],
      [
        { id: 1, name: 'thing' },
        { id: 2, name: 'other' },
      ],
    );
    const r2 = evaluateCoco(gt2, [...fps(100, 2), det(1, [0, 0, 100, 100], 0.5)]);
    expect(r2.stats[0]).toBeCloseTo(1, 12);
    expect(r2.perCategory.other).toEqual({ id: 2, ap: -1, ap50: -1, numGt: 0 });
  });

  it('score ties keep input order within an image and image-id order across images', () => {
    const gt = dataset([1], [ann(1, [0, 0, 100, 100])]);
    // FP listed first, same score: FP then TP -> AP .5; TP listed first -> AP 1.
    expect(
      evaluateCoco(gt, [det(1, [600, 600, 50, 50], 0.8), det(1, [0, 0, 100, 100], 0.8)]).stats[0],
    ).toBeCloseTo(0.5, 12);
    expect(
      evaluateCoco(gt, [det(1, [0, 0, 100, 100], 0.8), det(1, [600, 600, 50, 50], 0.8)]).stats[0],
    ).toBeCloseTo(1, 12);
    // Across images the concatenation follows sorted image ids, whatever the input order:
    // image 5 (no gt, FP) sorts before image 10 (TP) -> AP .5; swap the roles -> AP 1.
    const gtA = dataset([10, 5], [ann(10, [0, 0, 100, 100])]);
    expect(
      evaluateCoco(gtA, [det(10, [0, 0, 100, 100], 0.7), det(5, [0, 0, 100, 100], 0.7)]).stats[0],
    ).toBeCloseTo(0.5, 12);
    const gtB = dataset([10, 5], [ann(5, [0, 0, 100, 100])]);
    expect(
      evaluateCoco(gtB, [det(10, [0, 0, 100, 100], 0.7), det(5, [0, 0, 100, 100], 0.7)]).stats[0],
    ).toBeCloseTo(1, 12);
  });

  it('area ranges are closed: 32² is small and medium, 96² is medium and large', () => {
    // A = 32x32 (1024) detected exactly (.9); B = 96x96 (9216) not detected; FP 32x32 at .99.
    // small : A regular, B ignored. FP(.99) then TP: AP = .5, AR = 1.
    // medium: A and B regular (npig 2). FP, TP: rc [0,.5], env .5 -> AP = 25.5/101, AR = .5.
    // large : A ignored (its det matches an ignored gt -> ignored), FP 1024 < 9216 unmatched -> ignored,
    //         B missed: AP = 0, AR = 0.
    // all   : as medium.
    const gt = dataset([1], [ann(1, [0, 0, 32, 32]), ann(1, [100, 100, 96, 96])]);
    const r = evaluateCoco(gt, [det(1, [0, 0, 32, 32], 0.9), det(1, [500, 500, 32, 32], 0.99)]);
    expect(stat(r.stats, 'APs')).toBeCloseTo(0.5, 12);
    expect(stat(r.stats, 'ARs')).toBeCloseTo(1, 12);
    expect(stat(r.stats, 'APm')).toBeCloseTo(25.5 / 101, 12);
    expect(stat(r.stats, 'ARm')).toBe(0.5);
    expect(stat(r.stats, 'APl')).toBe(0);
    expect(stat(r.stats, 'ARl')).toBe(0);
    expect(stat(r.stats, 'AP')).toBeCloseTo(25.5 / 101, 12);
    expect(stat(r.stats, 'AR1')).toBe(0); // the FP is the best-scored detection of the image
    expect(stat(r.stats, 'AR10')).toBe(0.5);
  });

  it('buckets ground truths by their `area` field, not by the box', () => {
    // Box 100x100 but area 500 (a thin segmentation): the object is small, so APs = 1 and APl = -1.
    const r = evaluateCoco(dataset([1], [ann(1, [0, 0, 100, 100], { area: 500 })]), [
      det(1, [0, 0, 100, 100], 0.9),
    ]);
    expect(stat(r.stats, 'APs')).toBeCloseTo(1, 12);
    expect(stat(r.stats, 'APl')).toBe(-1);
  });

  it('a category without gt is -1 and left out of every mean', () => {
    // thing: perfect (AP 1); other: only an FP, no gt -> -1 -> mean stays 1 (0.5 if it counted as 0).
    const gt = dataset(
      [1],
      [ann(1, [0, 0, 100, 100])],
      [
        { id: 1, name: 'thing' },
        { id: 2, name: 'other' },
      ],
    );
    const r = evaluateCoco(gt, [det(1, [0, 0, 100, 100], 0.9), det(1, [0, 0, 100, 100], 0.95, 2)]);
    expect(r.stats[0]).toBeCloseTo(1, 12);
    expect(r.perCategory.other!.ap).toBe(-1);
    // All categories absent: every stat is -1.
    expect(evaluateCoco(dataset([1], []), [det(1, [0, 0, 10, 10], 0.5)]).stats).toEqual(
      new Array(12).fill(-1),
    );
  });

  it('reproduces the gt-id-0 quirk and reports unusable inputs', () => {
    // pycocotools marks "matched" by a non-zero gt id: a gt with id 0 is never a TP.
    const gt = dataset([1], [ann(1, [0, 0, 100, 100], { id: 0 })]);
    const r = evaluateCoco(gt, [
      det(1, [0, 0, 100, 100], 0.9),
      det(99, [0, 0, 1, 1], 0.9),
      det(1, [0, 0, 1, 1], NaN),
    ]);
    expect(r.stats[0]).toBe(0);
    expect(r.warnings.join('\n')).toMatch(/id 0/);
    expect(r.warnings.join('\n')).toMatch(/1 detections are on images not in the ground truth/);
    expect(r.warnings.join('\n')).toMatch(/non-finite score/);
  });

  it('restricts to imgIds / catIds when asked', () => {
    // Image 2's FP (.9) is above image 1's TP: AP .5 overall, 1 when only image 1 is evaluated.
    const gt = dataset([1, 2], [ann(1, [0, 0, 100, 100])]);
    const dets = [det(1, [0, 0, 100, 100], 0.5), det(2, [0, 0, 100, 100], 0.9)];
    expect(evaluateCoco(gt, dets).stats[0]).toBeCloseTo(0.5, 12);
    expect(evaluateCoco(gt, dets, { imgIds: [1] }).stats[0]).toBeCloseTo(1, 12);
    expect(evaluateCoco(gt, dets, { catIds: [2] }).stats[0]).toBe(-1);
  });
});
