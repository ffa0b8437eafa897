/**
 * The YOLO importer keeps segment lines (`class x1 y1 x2 y2 ...`, normalised) as polygons in pixels,
 * with the mask's area; a bad segment is reported on its line and only the mask is dropped.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importYolo } from '../../../src-main/engine/data/importers/yolo-importer';
import { decodeSegmentation } from '../../../src-main/engine/data/masks/segmentation';
import { makeTempDir, writeImage, writeText } from './fixtures';

const tmp = makeTempDir('yolo-masks-');
const root = path.join(tmp.dir, 'ds');

beforeAll(async () => {
  writeText(path.join(root, 'data.yaml'), 'names: [a, b]\n');
  await writeImage(path.join(root, 'images', 'x.png'), 40, 20);
  writeText(
    path.join(root, 'labels', 'x.txt'),
    [
      '0 0.5 0.5 0.5 0.5', // 1 a box: no mask
      '1 0.25 0.25 0.75 0.25 0.75 0.75 0.25 0.75', // 2 rectangle 10..30 x 5..15
      '1 0 0 0.5 0.5 0.5 0 0 0.5', // 3 bow tie
      '0 0.1 0.1 0.4 0.1 0.4 0.6 0.1', // 4 seven coordinates
      '0 0.1 0.1 0.2 0.2 0.3 0.3', // 5 collinear: box kept, mask skipped
      '0 0.1 0.1 0.2 0.2 0.3', // 6 five values: neither a box nor a segment
    ].join('\n'),
  );
});
afterAll(() => tmp.cleanup());

describe('importYolo instance masks', () => {
  it('keeps segment polygons in pixels and reports bad ones per line, keeping their boxes', async () => {
    const { dataset, report } = await importYolo(root);
    const anns = dataset.annotations;
    expect(anns).toHaveLength(5);
    expect(anns[0]!.segmentation).toBeUndefined();
    expect(anns[1]!.segmentation).toEqual([[10, 5, 30, 5, 30, 15, 10, 15]]);
    const m = decodeSegmentation(anns[1]!.segmentation!, 20, 40);
    expect(m.data.reduce((s, v) => s + v, 0)).toBe(200);
    expect(anns[1]!.area).toBe(200);
    // the bow tie's box is its extent; its area stays the box's
    expect(anns[2]!.segmentation).toBeUndefined();
    expect(anns[2]!.bbox).toEqual([0, 0, 20, 10]);
    expect(anns[2]!.area).toBe(200);
    // seven coordinates: the box of the three complete points
    expect(anns[3]!.segmentation).toBeUndefined();
    expect(anns[3]!.bbox.map((v) => Math.round(v * 1e9) / 1e9)).toEqual([4, 2, 12, 10]);
    expect(anns[4]!.segmentation).toBeUndefined();
    const file = path.join(root, 'labels', 'x.txt');
    expect(report.map((r) => [r.file, r.line, r.problem])).toEqual([
      [file, 3, expect.stringMatching(/^polygon 0 intersects itself .*: mask skipped, box kept$/)],
      [file, 4, 'segment has an odd number of coordinates (7): mask skipped, box of its 3 points kept'],
      [file, 5, 'polygon 0 has zero area (its points are collinear): mask skipped, box kept'],
      [file, 6, 'expected "class cx cy w h" (or "class x1 y1 x2 y2 x3 y3 ..."), found 6 values: skipped'],
    ]);
  });
});
