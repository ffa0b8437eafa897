import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importYolo, yoloLabelPath } from '../../../src-main/engine/data/importers/yolo-importer';
import type { LabelledAnnotation } from '../../../src-main/engine/data/importers/labelled-dataset';
import { makeTempDir, writeCorruptImage, writeImage, writeText } from './fixtures';

const tmp = makeTempDir('yolo-import-');
const root = path.join(tmp.dir, 'pets');
const img = (p: string) => path.join(root, 'images', p);
const lbl = (p: string) => path.join(root, 'labels', p);
const rounded = (anns: LabelledAnnotation[]) =>
  anns.map((a) => ({
    ...a,
    bbox: a.bbox.map((v) => Math.round(v * 1e9) / 1e9),
    area: Math.round(a.area * 1e6) / 1e6,
  }));

beforeAll(async () => {
  writeText(
    path.join(root, 'data.yaml'),
    'path: .\ntrain: images/train\nval: images/val  # held out\nnc: 3\nnames: [cat, dog, bird]\n',
  );
  await writeImage(img('train/a.png'), 100, 50);
  await writeImage(img('train/b.jpg'), 80, 80);
  writeCorruptImage(img('train/c.jpg'));
  await writeImage(img('train/d.png'), 10, 10);
  await writeImage(img('train/e.jpg'), 20, 20);
  await writeImage(img('train/e.png'), 20, 20);
  await writeImage(img('val/v.jpg'), 30, 30);
  writeText(
    lbl('train/a.txt'),
    [
      '0 0.5 0.5 0.2 0.4',
      '1 0.5 0.5 0.2',
      '0 x 0.5 0.2 0.2',
      '7 0.5 0.5 0.1 0.1',
      '2 0.95 0.5 0.2 0.2',
      '1 1.5 0.5 0.2 0.2',
      '1 0.5 0.5 0 0.2',
      '0  0.5 0.5 0.2 0.4',
      '',
      '2 0.1 0.1 0.3 0.1 0.3 0.3 0.1 0.3',
      '1.5 0.5 0.5 0.1 0.1',
    ].join('\n'),
  );
  writeText(lbl('train/b.txt'), '1 0.5 0.5 1 1\n');
  writeText(lbl('train/c.txt'), '0 0.5 0.5 0.1 0.1\n');
  writeText(lbl('train/e.txt'), '0 0.5 0.5 0.5 0.5\r\n');
  writeText(lbl('train/orphan.txt'), '0 0.5 0.5 0.1 0.1\n');
  writeText(lbl('val/v.txt'), '2 0.5 0.5 0.5 0.5\n');

  // names as an index -> name block mapping with a hole, and a contradicting nc
  const r2 = path.join(tmp.dir, 'map');
  writeText(path.join(r2, 'data.yaml'), 'names:\n  0: person\n  2: car\nnc: 2\n');
  await writeImage(path.join(r2, 'images', 'p.jpg'), 10, 10);
  writeText(path.join(r2, 'labels', 'p.txt'), '0 0.5 0.5 0.5 0.5\n1 0.5 0.5 0.5 0.5\n2 0.5 0.5 0.2 0.2\n');
  // no data.yaml at all
  const r3 = path.join(tmp.dir, 'bare');
  await writeImage(path.join(r3, 'images', 'q.png'), 10, 10);
  writeText(path.join(r3, 'labels', 'q.txt'), '4 0.5 0.5 0.5 0.5\n');
});
afterAll(() => tmp.cleanup());

describe('importYolo', () => {
  it('maps images to labels the Ultralytics way', () => {
    expect(yoloLabelPath('/d/images/x/images/train/a.b.jpg')).toBe('/d/images/x/labels/train/a.b.txt');
    expect(yoloLabelPath('/d/flat/a.png')).toBe('/d/flat/a.txt');
  });

  it('imports a split and reports every bad line with its number', async () => {
    const { dataset, report } = await importYolo(root, { split: 'train' });
    expect(dataset.categories).toEqual([
      { id: 1, name: 'cat' },
      { id: 2, name: 'dog' },
      { id: 3, name: 'bird' },
    ]);
    expect(dataset.images).toEqual([
      { id: 1, file: img('train/a.png'), width: 100, height: 50 },
      { id: 2, file: img('train/b.jpg'), width: 80, height: 80 },
      { id: 3, file: img('train/d.png'), width: 10, height: 10 },
      { id: 4, file: img('train/e.jpg'), width: 20, height: 20 },
    ]);
    expect(rounded(dataset.annotations)).toEqual([
      // cx .5 cy .5 w .2 h .4 on 100x50 -> [40, 15, 20, 20]
      { id: 1, imageId: 1, categoryId: 1, bbox: [40, 15, 20, 20], area: 400, iscrowd: 0 },
      // cx .95 w .2 -> x 85..105, clipped to 85..100
      { id: 2, imageId: 1, categoryId: 3, bbox: [85, 20, 15, 10], area: 150, iscrowd: 0, clipped: true },
      // polygon x .1..3, y .1..3 -> [10, 5, 20, 10]; its mask covers those 200 pixels
      {
        id: 3,
        imageId: 1,
        categoryId: 3,
        bbox: [10, 5, 20, 10],
        area: 200,
        iscrowd: 0,
        segmentation: [[10, 5, 30, 5, 30, 15, 10, 15]],
      },
      { id: 4, imageId: 2, categoryId: 2, bbox: [0, 0, 80, 80], area: 6400, iscrowd: 0 },
      { id: 5, imageId: 4, categoryId: 1, bbox: [5, 5, 10, 10], area: 100, iscrowd: 0 },
    ]);
    const a = lbl('train/a.txt');
    const expected: [string, number | undefined, RegExp][] = [
      [a, 2, /expected "class cx cy w h".*found 4 values: skipped/],
      [a, 3, /value "x" is not a number: skipped/],
      [a, 4, /unknown category: class 7 \(3 classes\): skipped/],
      [a, 5, /extends outside the 100×50 image: clipped to \[85, 20, 15, 10\]/],
      [a, 6, /entirely outside the 100×50 image: skipped/],
      [a, 7, /non-positive size: skipped/],
      [a, 8, /duplicate label \(same as line 1\): skipped/],
      [a, 11, /class "1.5" is not a class index: skipped/],
      [img('train/c.jpg'), undefined, /unreadable image .*: image skipped with its labels/],
      [img('train/e.png'), undefined, /duplicate image id: same name as .*e\.jpg/],
      [lbl('train/orphan.txt'), undefined, /label file has no image \(missing image\)/],
    ];
    for (const [file, line, message] of expected) {
      const hit = report.filter((r) => r.file === file && r.line === line && message.test(r.problem));
      expect(hit, `${path.basename(file)}:${line} ${message}`).toHaveLength(1);
    }
    expect(report).toHaveLength(expected.length);
  });

  it('finds a split through data.yaml and imports everything under images/ without one', async () => {
    const val = await importYolo(root, { split: 'val' });
    expect(val.dataset.images.map((i) => path.basename(i.file))).toEqual(['v.jpg']);
    expect(rounded(val.dataset.annotations)[0]!.bbox).toEqual([7.5, 7.5, 15, 15]);
    const all = await importYolo(root);
    expect(all.dataset.images).toHaveLength(5);
    expect(all.dataset.annotations).toHaveLength(6);
  });

  it('reads index -> name mappings with holes and reports nc mismatches and missing data.yaml', async () => {
    const m = await importYolo(path.join(tmp.dir, 'map'));
    expect(m.dataset.categories).toEqual([
      { id: 1, name: 'person' },
      { id: 3, name: 'car' },
    ]);
    expect(m.dataset.annotations.map((x) => x.categoryId)).toEqual([1, 3]);
    expect(m.report.map((r) => [path.basename(r.file), r.line, r.problem])).toEqual([
      ['data.yaml', 4, 'nc is 2 but names lists 3 classes: using names'],
      ['p.txt', 2, 'unknown category: class 1 (3 classes): skipped'],
    ]);
    const bare = await importYolo(path.join(tmp.dir, 'bare'));
    expect(bare.dataset.categories).toEqual([{ id: 5, name: '4' }]);
    expect(bare.report[0]!.problem).toMatch(/no data.yaml/);
  });

  it('throws only for a missing root or image folder', async () => {
    await expect(importYolo(path.join(tmp.dir, 'nothing'))).rejects.toThrow(/does not exist/);
    await expect(importYolo(root, { split: 'test' })).rejects.toThrow(/split "test" has no image folder/);
  });
});
