import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectDatasetFormat, importDataset } from '../../../src-main/engine/data/importers/import-dataset';
import { toCocoJson } from '../../../src-main/engine/data/importers/to-coco-json';
import { evaluateCoco } from '../../../src-main/engine/eval/cocoeval';
import { vocEvalCoco } from '../../../src-main/engine/eval/voc';
import { makeTempDir, writeImage, writeText } from './fixtures';

const tmp = makeTempDir('to-coco-');
const voc = path.join(tmp.dir, 'voc');

beforeAll(async () => {
  await writeImage(path.join(voc, 'JPEGImages', 'i1.jpg'), 200, 100);
  writeText(
    path.join(voc, 'Annotations', 'i1.xml'),
    `<annotation><filename>i1.jpg</filename>
  <object><name>dog</name><bndbox><xmin>11</xmin><ymin>21</ymin><xmax>60</xmax><ymax>70</ymax></bndbox></object>
  <object><name>cat</name><difficult>1</difficult><bndbox><xmin>101</xmin><ymin>1</ymin><xmax>150</xmax><ymax>50</ymax></bndbox></object>
</annotation>`,
  );
  writeText(path.join(tmp.dir, 'yolo', 'data.yaml'), 'names: [a]\n');
  writeText(path.join(tmp.dir, 'coco.json'), '{}');
});
afterAll(() => tmp.cleanup());

describe('toCocoJson and the import -> evaluate path', () => {
  it('writes COCO fields, relative file names, and maps difficult to crowd by default', async () => {
    expect(await detectDatasetFormat(voc)).toBe('voc');
    expect(await detectDatasetFormat(path.join(tmp.dir, 'yolo'))).toBe('yolo');
    expect(await detectDatasetFormat(path.join(tmp.dir, 'coco.json'))).toBe('coco');
    expect(await detectDatasetFormat(path.join(tmp.dir, 'nowhere'))).toBeNull();
    await expect(importDataset(path.join(tmp.dir, 'nowhere'))).rejects.toThrow(/not a recognisable dataset/);

    const { dataset, report } = await importDataset(voc);
    expect(report).toEqual([]);
    const coco = toCocoJson(dataset, { relativeTo: voc });
    expect(coco.images).toEqual([{ id: 1, file_name: 'JPEGImages/i1.jpg', width: 200, height: 100 }]);
    const dog = coco.categories.find((c) => c.name === 'dog')!.id;
    const cat = coco.categories.find((c) => c.name === 'cat')!.id;
    expect(coco.annotations).toEqual([
      { id: 1, image_id: 1, category_id: dog, bbox: [10, 20, 50, 50], area: 2500, iscrowd: 0 },
      { id: 2, image_id: 1, category_id: cat, bbox: [100, 0, 50, 50], area: 2500, iscrowd: 1 },
    ]);
    expect(toCocoJson(dataset, { difficult: 'keep' }).annotations[1]!.iscrowd).toBe(0);
    expect(toCocoJson(dataset, { difficult: 'drop' }).annotations).toHaveLength(1);
    expect(JSON.parse(JSON.stringify(coco))).toEqual(coco);

    // Detections: the dog exactly, and a box on the difficult cat. COCO: the cat det matches a crowd
    // region and is ignored; dog AP 1; every other category has no gt (-1). VOC: the same, by the
    // difficult rule, and the VOC corners of the det equal the xml's (11..60 -> [10, 20, 50, 50]).
    const dets = [
      {
        image_id: 1,
        category_id: dog,
        bbox: [10, 20, 50, 50] as [number, number, number, number],
        score: 0.9,
      },
      {
        image_id: 1,
        category_id: cat,
        bbox: [100, 0, 50, 50] as [number, number, number, number],
        score: 0.8,
      },
    ];
    const r = evaluateCoco(coco, dets);
    expect(r.stats[0]).toBeCloseTo(1, 12);
    expect(r.perCategory.dog!.ap).toBeCloseTo(1, 12);
    expect(r.perCategory.cat!.ap).toBe(-1);
    const v = vocEvalCoco(coco, dets);
    expect(v.perClass.dog!.ap).toBe(1);
    expect(v.perClass.cat).toMatchObject({ npos: 0, tp: 0, fp: 0, ap: -1 });
    expect(v.mAP).toBe(1);
    // a det shifted by 3 pixels: IoU 47*50 / (2*2500 - 47*50) = .8868 in both conventions
    const shifted = [{ ...dets[0]!, bbox: [13, 20, 50, 50] as [number, number, number, number] }];
    const iou = (47 * 50) / (5000 - 47 * 50);
    // COCO: TP for thresholds .50 .. .85 (8 of 10), none above: AP = .8 (dog is the only category with gt)
    expect(evaluateCoco(coco, shifted).stats[0]).toBeCloseTo(0.8, 12);
    expect(vocEvalCoco(coco, shifted, { iouThreshold: iou }).perClass.dog!.ap).toBe(1);
    expect(vocEvalCoco(coco, shifted, { iouThreshold: iou + 1e-9 }).perClass.dog!.ap).toBe(0);
  });
});
