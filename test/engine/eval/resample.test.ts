/**
 * The val set drawn again for the study's bootstrap: drawing every image once scores as the set
 * itself; an image drawn twice counts twice (its objects and detections, under new ids); and the
 * evaluator's shortcut for many draws (accumulating at 100 detections only) gives every AP number
 * and AR@100 unchanged.
 */
import { describe, expect, it } from 'vitest';
import { evaluateCoco } from '../../../src-main/engine/eval/cocoeval';
import { CocoResampler } from '../../../src-main/engine/eval/resample';
import { scoreDetections } from '../../../src-main/engine/detection/evaluate';
import { makeData } from './cocoeval-random-data';

describe('resampled val sets', () => {
  const { gt, dets } = makeData(1);
  const resampler = new CocoResampler(gt, dets);

  it('drawing every image once scores as the set itself', () => {
    const all = resampler.draw(Int32Array.from(gt.images.keys()));
    expect(all.gt.annotations).toHaveLength(gt.annotations.length);
    const again = scoreDetections({ coco: all.gt }, all.dets);
    const direct = scoreDetections({ coco: gt }, dets);
    expect(again.stats).toEqual(direct.stats);
    expect(again.voc.mAP).toBe(direct.voc.mAP);
  });

  it('an image drawn twice counts twice, under new image and annotation ids', () => {
    const i = gt.images.findIndex((im) => gt.annotations.some((a) => a.image_id === im.id));
    const own = gt.annotations.filter((a) => a.image_id === gt.images[i]!.id).length;
    const twice = resampler.draw([i, i]);
    expect(twice.gt.images.map((im) => im.id)).toEqual([1, 2]);
    expect(twice.gt.annotations).toHaveLength(2 * own);
    expect(new Set(twice.gt.annotations.map((a) => a.id)).size).toBe(2 * own);
    expect(twice.dets.filter((d) => d.image_id === 1).length).toBe(
      twice.dets.filter((d) => d.image_id === 2).length,
    );
    // the same image twice: the same precision at every recall, so the same AP as once
    const once = resampler.draw([i]);
    expect(evaluateCoco(twice.gt, twice.dets).stats[1]).toBeCloseTo(
      evaluateCoco(once.gt, once.dets).stats[1]!,
      12,
    );
    expect(() => resampler.draw([gt.images.length])).toThrow(/outside the 50 val images/);
  });

  it('accumulating at 100 detections only leaves the AP numbers and AR@100 as they are', () => {
    const full = evaluateCoco(gt, dets).stats;
    const fast = evaluateCoco(gt, dets, { lastMaxDetOnly: true }).stats;
    expect(fast.slice(0, 6)).toEqual(full.slice(0, 6));
    expect(fast.slice(8)).toEqual(full.slice(8));
    expect([fast[6], fast[7]]).toEqual([-1, -1]);
  });
});
