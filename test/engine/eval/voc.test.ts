/** Hand-derived VOC AP cases (devkit rules: +1 pixel overlap, >= 0.5, difficult ignored). */
import { describe, expect, it } from 'vitest';
import {
  cocoBoxToVoc,
  vocAp,
  vocEval,
  vocEvalCoco,
  vocIou,
  type VocBox,
} from '../../../src-main/engine/eval/voc';

describe('VOC evaluation', () => {
  it('overlap uses inclusive pixel widths, and the 0.5 boundary counts as a match', () => {
    // gt 10x10 pixels (1..10), det 10x5 pixels: inter 50, union 100 -> exactly .5 (0.444 without +1).
    expect(vocIou([1, 1, 10, 10], [1, 1, 10, 5])).toBe(0.5);
    expect(vocIou([1, 1, 10, 10], [11, 1, 20, 10])).toBe(0); // adjacent pixels, no overlap
    expect(vocIou([1, 1, 10, 10], [10, 10, 20, 20])).toBeCloseTo(1 / (100 + 121 - 1), 12); // one shared pixel
    const r = vocEval(
      { imageIds: ['a'], objects: [{ imageId: 'a', className: 'dog', box: [1, 1, 10, 10] }] },
      [{ imageId: 'a', className: 'dog', box: [1, 1, 10, 5], score: 1 }],
    );
    expect(r.perClass.dog!.tp).toBe(1); // >= (devkit), not > (py-faster-rcnn)
    expect(r.perClass.dog!.ap).toBe(1);
  });

  it('cocoBoxToVoc makes the +1 overlap equal the continuous IoU', () => {
    // [0,0,10,10] vs [5,0,10,10] continuous: inter 50, union 150 -> 1/3
    expect(vocIou(cocoBoxToVoc([0, 0, 10, 10]), cocoBoxToVoc([5, 0, 10, 10]))).toBeCloseTo(1 / 3, 12);
  });

  // Two images, 4 non-difficult dogs + 1 difficult dog. Detections by score:
  //  d1 .9 TP (a1), d2 .85 hits the difficult dog (ignored), d3 .8 FP (nothing), d4 .7 TP (a2),
  //  d5 .6 TP (b1), d6 .55 duplicate of a1 (FP), b2 never found.
  // Counted rows (d2 still adds a row with unchanged tp/fp):
  //  tp = 1,1,1,2,3,3   fp = 0,0,1,1,1,2   npos = 4
  //  rec = .25,.25,.25,.5,.75,.75   prec = 1,1,.5,2/3,.75,.6
  const dog = (imageId: string, box: VocBox, difficult = false) => ({
    imageId,
    className: 'dog',
    box,
    difficult,
  });
  const gt = {
    imageIds: ['a', 'b', 'empty'],
    objects: [
      dog('a', [1, 1, 50, 50]),
      dog('a', [101, 101, 150, 150]),
      dog('a', [201, 1, 250, 50], true),
      dog('b', [1, 1, 50, 50]),
      dog('b', [301, 301, 350, 350]),
    ],
  };
  const dets = [
    { imageId: 'a', className: 'dog', box: [1, 1, 50, 50] as VocBox, score: 0.9 },
    { imageId: 'a', className: 'dog', box: [201, 1, 250, 50] as VocBox, score: 0.85 },
    { imageId: 'empty', className: 'dog', box: [1, 1, 50, 50] as VocBox, score: 0.8 },
    { imageId: 'a', className: 'dog', box: [101, 101, 150, 150] as VocBox, score: 0.7 },
    { imageId: 'b', className: 'dog', box: [2, 2, 50, 50] as VocBox, score: 0.6 },
    { imageId: 'a', className: 'dog', box: [1, 1, 49, 49] as VocBox, score: 0.55 },
  ];

  it('area AP (VOC2010+): envelope integrated at recall changes', () => {
    // mrec = 0,.25,.25,.25,.5,.75,.75,1 ; envelope of mpre = 1,1,1,.75,.75,.75,.6,0 (from the right)
    // changes: .25*1 + .25*.75 + .25*.75 + .25*0 = .625
    const r = vocEval(gt, dets);
    const c = r.perClass.dog!;
    expect(c.npos).toBe(4);
    expect([c.tp, c.fp]).toEqual([3, 2]);
    expect(c.recall).toEqual([0.25, 0.25, 0.25, 0.5, 0.75, 0.75]);
    expect(c.precision[2]).toBe(0.5);
    expect(c.ap).toBeCloseTo(0.625, 12);
    expect(r.mAP).toBeCloseTo(0.625, 12);
  });

  it('11-point AP (VOC2007)', () => {
    // t = 0,.1,.2 -> max prec = 1 (3 points); t = .3..,.4,.5,.6..,.7.. -> .75 (5 points); t >= .8 -> 0
    // (3 + 5*.75) / 11 = 6.75/11
    expect(vocEval(gt, dets, { metric: 'voc07' }).perClass.dog!.ap).toBeCloseTo(6.75 / 11, 12);
  });

  it('difficult objects: not in npos, their detections neither TP nor FP; without the flag they count', () => {
    const noDifficult = { ...gt, objects: gt.objects.map((o) => ({ ...o, difficult: false })) };
    const c = vocEval(noDifficult, dets).perClass.dog!;
    // npos 5, d2 now a TP: tp = 1,2,2,3,4,4 fp = 0,0,1,1,1,2 -> rec .2,.4,.4,.6,.8,.8
    // prec 1,1,2/3,.75,.8,2/3; envelope at changes: .2*1 + .2*1 + .2*.8 + .2*.8 = .72
    expect(c.npos).toBe(5);
    expect(c.ap).toBeCloseTo(0.72, 12);
  });

  it('11-point thresholds are i*0.1: a recall of exactly 3/10 does not reach t = 0.3', () => {
    // 10 objects, 3 found by the first three detections, nothing else: rec max = .3, prec 1.
    // t = 0,.1,.2 -> 1; t = 0.30000000000000004 > .3 -> 0. AP = 3/11 (4/11 with exact decimals).
    const objects = Array.from({ length: 10 }, (_, i) =>
      dog('a', [1 + 60 * i, 1, 50 + 60 * i, 50] as VocBox),
    );
    const d = objects
      .slice(0, 3)
      .map((o, i) => ({ imageId: 'a', className: 'dog', box: o.box, score: 1 - i * 0.1 }));
    expect(vocEval({ imageIds: ['a'], objects }, d, { metric: 'voc07' }).perClass.dog!.ap).toBeCloseTo(
      3 / 11,
      12,
    );
  });

  it('vocAp on explicit curves, a class without objects, and COCO-shaped input', () => {
    expect(vocAp([], [], 'area')).toBe(0);
    expect(vocAp([0.5, 1], [1, 0.5], 'area')).toBeCloseTo(0.5 + 0.25, 12);
    const r = vocEval({ imageIds: [1], objects: [{ imageId: 1, className: 'cat', box: [1, 1, 10, 10] }] }, [
      { imageId: 1, className: 'cat', box: [1, 1, 10, 10], score: 0.5 },
      { imageId: 1, className: 'bird', box: [1, 1, 10, 10], score: 0.5 },
      { imageId: 7, className: 'cat', box: [1, 1, 10, 10], score: 0.9 },
    ]);
    expect(r.perClass.bird!.ap).toBe(-1);
    expect(r.mAP).toBe(1); // bird (no objects) left out
    expect(r.warnings[0]).toMatch(/1 detections are on images outside/);
    // COCO-shaped: the crowd annotation is treated as difficult; the det on it is ignored
    const coco = vocEvalCoco(
      {
        images: [{ id: 1 }],
        categories: [{ id: 3, name: 'cat' }],
        annotations: [
          { id: 1, image_id: 1, category_id: 3, bbox: [0, 0, 10, 10], area: 100, iscrowd: 0 },
          { id: 2, image_id: 1, category_id: 3, bbox: [50, 50, 10, 10], area: 100, iscrowd: 1 },
        ],
      },
      [
        { image_id: 1, category_id: 3, bbox: [50, 50, 10, 10], score: 0.9 },
        { image_id: 1, category_id: 3, bbox: [0, 0, 10, 10], score: 0.8 },
      ],
    );
    expect(coco.perClass.cat).toMatchObject({ npos: 1, tp: 1, fp: 0, ap: 1 });
  });
});
