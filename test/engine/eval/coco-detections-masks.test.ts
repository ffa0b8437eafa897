/**
 * Results entries with masks: `segmentation` RLEs (compressed or not) are kept, bad ones reported at
 * their JSONPath and the entry skipped; an entry without bbox gets its mask's box (as loadRes does);
 * `firstHasBox` says whether pycocotools would size the detections by their boxes.
 */
import { describe, expect, it } from 'vitest';
import { cocoDetectionsFromJson, detectionWithMask } from '../../../src-main/engine/eval/coco-detections';
import type { CocoDataset } from '../../../src-main/engine/eval/coco-types';
import { decodeSegmentation } from '../../../src-main/engine/data/masks/segmentation';

const gt: CocoDataset = {
  images: [
    { id: 1, width: 4, height: 3 },
    { id: 2, width: 5, height: 5 },
  ],
  categories: [{ id: 1, name: 'a' }],
  annotations: [],
};

describe('cocoDetectionsFromJson with masks', () => {
  it('keeps RLE masks, fills a missing bbox from the mask, reports bad masks', () => {
    // 3×4 image: pixels (x 1..2, y 0..1) on, column-major counts: 3 zeros, 2 ones, 1 zero, 2 ones, 4
    // zeros; compressed, counts from the fourth on are differences to two before: '3' '2' '1' '0' '3'
    const counts = [3, 2, 1, 2, 4];
    const text = JSON.stringify([
      { image_id: 1, category_id: 1, score: 0.9, segmentation: { size: [3, 4], counts } },
      {
        image_id: 1,
        category_id: 1,
        score: 0.8,
        bbox: [0, 0, 1, 1],
        segmentation: { size: [3, 4], counts: '32103' },
      },
      { image_id: 1, category_id: 1, score: 0.7, segmentation: { size: [4, 3], counts } },
      { image_id: 1, category_id: 1, score: 0.7, segmentation: { size: [3, 4], counts: [3, 2] } },
      { image_id: 1, category_id: 1, score: 0.7, segmentation: [[0, 0, 1, 0, 1, 1]] },
      { image_id: 2, category_id: 1, score: 0.7, segmentation: { size: [5, 5], counts: 'o' } },
    ]);
    const { detections, report, firstHasBox } = cocoDetectionsFromJson(text, { gt, file: 'r.json' });
    expect(firstHasBox).toBe(false);
    expect(detections).toHaveLength(2);
    expect(detections[0]!.bbox).toEqual([1, 0, 2, 2]);
    expect(detections[0]!.segmentation).toEqual({ size: [3, 4], counts });
    expect(detections[1]!.bbox).toEqual([0, 0, 1, 1]);
    expect(report.map((r) => [r.jsonPath, r.problem])).toEqual([
      ['$[2].segmentation', "segmentation size [4, 3] (height, width) is not the image's [3, 4]: skipped"],
      ['$[3].segmentation', 'segmentation: bad RLE: counts sum to 5 pixels but size 3x4 has 12: skipped'],
      [
        '$[4].segmentation',
        'segmentation is not an RLE {size, counts} (results masks are RLE, as pycocotools reads them): skipped',
      ],
      ['$[5].segmentation', 'segmentation: compressed RLE counts end inside a value at character 1: skipped'],
    ]);
    const withBox = cocoDetectionsFromJson(
      JSON.stringify([{ image_id: 1, category_id: 1, score: 1, bbox: [0, 0, 1, 1] }]),
    );
    expect(withBox.firstHasBox).toBe(true);
  });

  it('writes a predicted mask as a results entry that reads back to the same pixels', () => {
    const data = Uint8Array.from([0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1]);
    const det = detectionWithMask(
      { image_id: 1, category_id: 1, bbox: [1, 0, 3, 3], score: 0.5 },
      { height: 3, width: 4, data },
    );
    expect(typeof det.segmentation!.counts).toBe('string');
    const back = cocoDetectionsFromJson(JSON.stringify([det]), { gt }).detections[0]!;
    expect(decodeSegmentation(back.segmentation!, 3, 4).data).toEqual(data);
  });
});
