import { describe, expect, it } from 'vitest';
import { cocoDetectionsFromJson } from '../../../src-main/engine/eval/coco-detections';
import type { CocoDataset } from '../../../src-main/engine/eval/coco-types';

const gt: CocoDataset = {
  images: [{ id: 1 }, { id: 2 }],
  categories: [{ id: 1, name: 'a' }],
  annotations: [],
};

describe('cocoDetectionsFromJson', () => {
  it('keeps valid entries and reports each bad one with its JSONPath', () => {
    const text = JSON.stringify([
      { image_id: 1, category_id: 1, bbox: [1, 2, 3, 4], score: 0.5 },
      { image_id: 3, category_id: 1, bbox: [1, 2, 3, 4], score: 0.5 },
      { image_id: 1, category_id: 2, bbox: [1, 2, 3, 4], score: 0.5 },
      { image_id: 1, category_id: 1, bbox: [1, 2, 3], score: 0.5 },
      { image_id: 1, category_id: 1, bbox: [1, 2, -3, 4], score: 0.5 },
      { image_id: 1, category_id: 1, bbox: [1, 2, 3, 4] },
      { image_id: '1', category_id: 1, bbox: [1, 2, 3, 4], score: 0.5 },
      7,
      { image_id: 2, category_id: 1, bbox: [5, 5, 0, 4], score: 0.25 },
    ]);
    const { detections, report } = cocoDetectionsFromJson(text, { gt, file: 'dets.json' });
    expect(detections).toEqual([
      { image_id: 1, category_id: 1, bbox: [1, 2, 3, 4], score: 0.5 },
      { image_id: 2, category_id: 1, bbox: [5, 5, 0, 4], score: 0.25 },
    ]);
    expect(report.map((r) => [r.jsonPath, r.problem])).toEqual([
      ['$[1].image_id', 'unknown image_id 3: skipped'],
      ['$[2].category_id', 'unknown category_id 2: skipped'],
      ['$[3].bbox', 'bbox [1,2,3] is not four finite numbers: skipped'],
      ['$[4].bbox', 'bbox [1,2,-3,4] has a negative size: skipped'],
      ['$[5].score', 'score undefined is not a finite number: skipped'],
      ['$[6].image_id', 'image_id "1" is not an integer: skipped'],
      ['$[7]', 'detection is not an object: skipped'],
      ['$[8].bbox', 'zero-area bbox: kept (it can only be a false positive)'],
    ]);
    expect(report.every((r) => r.file === 'dets.json')).toBe(true);
  });

  it('reports syntax errors with a line, and a wrong top level', () => {
    const bad = cocoDetectionsFromJson('[\n {"image_id": 1,\n  "score": .5}\n]');
    expect(bad.detections).toEqual([]);
    expect(bad.report[0]).toMatchObject({ line: 3 });
    expect(bad.report[0]!.problem).toMatch(/line 3, column 12/);
    expect(cocoDetectionsFromJson('{"x": 1}').report[0]!.problem).toMatch(/expected a JSON array/);
    // {annotations: [...]} as some tools write it
    const wrapped = cocoDetectionsFromJson(
      '{"annotations": [{"image_id": 9, "category_id": 1, "bbox": [0,0,1,1], "score": 1}]}',
    );
    expect(wrapped.detections).toHaveLength(1);
  });
});
