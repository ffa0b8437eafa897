/**
 * The COCO importer keeps instance masks (polygons, uncompressed crowd RLE, compressed RLE) and
 * reports each unusable one at its JSONPath, dropping only the mask: the box stays.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCoco } from '../../../src-main/engine/data/importers/coco-importer';
import { toCocoJson } from '../../../src-main/engine/data/importers/to-coco-json';
import { encodeMask } from '../../../src-main/engine/data/masks/rle';
import { compressCounts } from '../../../src-main/engine/data/masks/rle-string';
import { decodeSegmentation } from '../../../src-main/engine/data/masks/segmentation';
import { makeTempDir, writeImage, writeText } from './fixtures';

const tmp = makeTempDir('coco-masks-');
const jsonFile = path.join(tmp.dir, 'instances.json');
// a 20 wide, 10 high image; RLE sizes are [height, width]
const W = 20;
const H = 10;
const block = () => {
  const data = new Uint8Array(W * H);
  for (let y = 2; y < 5; y++) for (let x = 3; x < 9; x++) data[y * W + x] = 1;
  return encodeMask({ height: H, width: W, data });
};
const segs: unknown[] = [
  [[2, 2, 8, 2, 8, 6, 2, 6]], // 0 kept
  [[0, 0, 10, 10, 10, 0, 0, 10]], // 1 bow tie: crosses itself
  [[1, 1, 5, 1, 5]], // 2 odd count
  { size: [H, W], counts: block().counts }, // 3 crowd, uncompressed: kept
  { size: [W, H], counts: block().counts }, // 4 size swapped
  { size: [H, W], counts: [5, 5, 5] }, // 5 counts cover 15 of 200 pixels
  { size: [H, W], counts: compressCounts(block().counts) }, // 6 compressed: kept
  [], // 7 box-only export: no mask, nothing said
  [[1, 1, 3, 3, 5, 5]], // 8 collinear
  [[1, 1, 5, 5]], // 9 two points
  [[1, 1, 5, 1, 5, 5], 'x'], // 10 second part is not a polygon
];

beforeAll(async () => {
  await writeImage(path.join(tmp.dir, 'a.png'), W, H);
  writeText(
    jsonFile,
    JSON.stringify({
      categories: [{ id: 1, name: 'thing' }],
      images: [{ id: 1, file_name: 'a.png', width: W, height: H }],
      annotations: segs.map((segmentation, k) => ({
        id: k + 1,
        image_id: 1,
        category_id: 1,
        bbox: [2, 2, 6, 4],
        area: 18,
        iscrowd: k === 3 ? 1 : 0,
        segmentation,
      })),
    }),
  );
});
afterAll(() => tmp.cleanup());

describe('importCoco instance masks', () => {
  it('keeps usable masks, reports each bad one at its path, and keeps every box', async () => {
    const { dataset, report } = await importCoco(jsonFile, { imageDir: tmp.dir });
    expect(dataset.annotations).toHaveLength(segs.length);
    const withMask = dataset.annotations.filter((a) => a.segmentation).map((a) => a.id);
    expect(withMask).toEqual([1, 4, 7]);
    expect(dataset.annotations[3]!.iscrowd).toBe(1);
    expect(dataset.annotations[3]!.segmentation).toEqual(segs[3]);
    // written back out as COCO, the masks are as read
    expect(toCocoJson(dataset).annotations.map((a) => a.segmentation)).toEqual(
      dataset.annotations.map((a) => a.segmentation),
    );
    expect(toCocoJson(dataset).annotations[0]!.segmentation).toEqual(segs[0]);
    // the kept masks decode to what the file says
    const m = decodeSegmentation(dataset.annotations[6]!.segmentation!, H, W);
    expect(m.data.reduce((s, v) => s + v, 0)).toBe(18);
    const got = report.map((r) => [r.jsonPath, r.problem]);
    const want: [string, RegExp][] = [
      ['$.annotations[1].segmentation[0]', /polygon 0 intersects itself.*: mask skipped, box kept/],
      ['$.annotations[2].segmentation[0]', /polygon 0 has an odd number of coordinates \(5\)/],
      [
        '$.annotations[4].segmentation.size',
        /RLE size \[20, 10\] \(height, width\) disagrees with the 20×10 image/,
      ],
      ['$.annotations[5].segmentation.counts', /counts sum to 15 pixels but size 10x20 has 200/],
      ['$.annotations[8].segmentation[0]', /polygon 0 has zero area/],
      ['$.annotations[9].segmentation[0]', /polygon 0 has 2 distinct points, a polygon needs 3/],
      ['$.annotations[10].segmentation[1]', /polygon 1 is not a list of coordinates/],
    ];
    expect(got).toHaveLength(want.length);
    want.forEach(([at, re], j) => {
      expect(got[j]![0]).toBe(at);
      expect(got[j]![1]).toMatch(re);
      expect(report[j]!.file).toBe(jsonFile);
    });
  });
});
