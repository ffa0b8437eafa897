import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCoco } from '../../../src-main/engine/data/importers/coco-importer';
import { makeTempDir, writeCorruptImage, writeImage, writeText } from './fixtures';

const tmp = makeTempDir('coco-import-');
const imgDir = path.join(tmp.dir, 'images');
const jsonFile = path.join(tmp.dir, 'annotations', 'instances.json');

beforeAll(async () => {
  await writeImage(path.join(imgDir, 'a.png'), 100, 80);
  await writeImage(path.join(imgDir, 'b.jpg'), 64, 64);
  await writeImage(path.join(imgDir, 'e.png'), 50, 50);
  writeCorruptImage(path.join(imgDir, 'c.jpg'));
  const ann = (id: unknown, image_id: unknown, category_id: unknown, bbox: unknown, extra = {}) => ({
    id,
    image_id,
    category_id,
    bbox,
    ...extra,
  });
  writeText(
    jsonFile,
    JSON.stringify(
      {
        categories: [
          { id: 1, name: 'cat' },
          { id: 2, name: 'dog' },
          { id: 1, name: 'cat again' },
          { id: 'x', name: 'bad' },
        ],
        images: [
          { id: 1, file_name: 'a.png', width: 100, height: 80 },
          { id: 2, file_name: 'b.jpg', width: 60, height: 64 },
          { id: 3, file_name: 'c.jpg', width: 10, height: 10 },
          { id: 4, file_name: 'd.png', width: 10, height: 10 },
          { id: 1, file_name: 'e.png' },
          { id: 5, file_name: 'e.png' },
        ],
        annotations: [
          ann(1, 1, 1, [10, 10, 20, 30], { area: 500, iscrowd: 0 }),
          ann(2, 1, 2, [90, 70, 20, 20]),
          ann(3, 1, 1, [200, 10, 5, 5]),
          ann(4, 1, 1, [10, 10, 0, 5]),
          ann(5, 1, 9, [1, 1, 2, 2]),
          ann(6, 99, 1, [1, 1, 2, 2]),
          ann(1, 2, 1, [1, 1, 2, 2]),
          ann(7, 2, 1, [1, 1, 2]),
          ann(8, 3, 1, [1, 1, 2, 2]),
          ann(9, 4, 1, [1, 1, 2, 2]),
          ann(10, 4, 2, [1, 1, 2, 2]),
          ann(11, 5, 2, [0, 0, 50, 50], { iscrowd: 1, area: 1200 }),
          'not an object',
          ann(12, 2, 1, [1, 1, 2, 2], { iscrowd: 7 }),
        ],
      },
      null,
      1,
    ),
  );
});
afterAll(() => tmp.cleanup());

describe('importCoco', () => {
  it('imports the good entries and reports every bad one with its JSONPath', async () => {
    const { dataset, report } = await importCoco(jsonFile, { imageDir: imgDir });
    expect(dataset.categories).toEqual([
      { id: 1, name: 'cat' },
      { id: 2, name: 'dog' },
    ]);
    expect(dataset.images).toEqual([
      { id: 1, file: path.join(imgDir, 'a.png'), width: 100, height: 80 },
      { id: 2, file: path.join(imgDir, 'b.jpg'), width: 64, height: 64 },
      { id: 5, file: path.join(imgDir, 'e.png'), width: 50, height: 50 },
    ]);
    expect(dataset.annotations).toEqual([
      { id: 1, imageId: 1, categoryId: 1, bbox: [10, 10, 20, 30], area: 500, iscrowd: 0 },
      // [90,70,20,20] on a 100x80 image: clipped to [90,70,10,10], area from the clipped box
      { id: 2, imageId: 1, categoryId: 2, bbox: [90, 70, 10, 10], area: 100, iscrowd: 0, clipped: true },
      { id: 11, imageId: 5, categoryId: 2, bbox: [0, 0, 50, 50], area: 1200, iscrowd: 1 },
      { id: 12, imageId: 2, categoryId: 1, bbox: [1, 1, 2, 2], area: 4, iscrowd: 0 },
    ]);
    const expected: [string, RegExp][] = [
      ['$.categories[2].id', /duplicate category id 1 \(first at \$\.categories\[0\]\)/],
      ['$.categories[3].id', /category id "x" is not an integer/],
      ['$.images[1]', /declared size 60×64 differs from the file's 64×64/],
      ['$.images[4].id', /duplicate image id 1 \(first at \$\.images\[0\]\)/],
      ['$.annotations[1].bbox', /extends outside the 100×80 image: clipped to \[90, 70, 10, 10\]/],
      ['$.annotations[2].bbox', /entirely outside the 100×80 image: skipped/],
      ['$.annotations[3].bbox', /non-positive size: skipped/],
      ['$.annotations[4].category_id', /unknown category_id 9: skipped/],
      ['$.annotations[5].image_id', /unknown image_id 99: skipped/],
      ['$.annotations[6].id', /duplicate annotation id 1 \(first at \$\.annotations\[0\]\)/],
      ['$.annotations[7].bbox', /not four finite numbers: skipped/],
      ['$.annotations[12]', /annotation is not an object: skipped/],
      ['$.annotations[13].iscrowd', /iscrowd 7 is neither 0 nor 1: treated as 0/],
      ['$.images[2]', /unreadable image .*c\.jpg; image skipped with its 1 annotation$/],
      ['$.images[3]', /image file not found: .*d\.png; image skipped with its 2 annotations$/],
    ];
    for (const [jsonPath, message] of expected) {
      const hit = report.filter((r) => r.jsonPath === jsonPath);
      expect(hit, jsonPath).toHaveLength(1);
      expect(hit[0]!.problem).toMatch(message);
      expect(hit[0]!.file).toBe(jsonFile);
    }
    expect(report).toHaveLength(expected.length);
  });

  it('reports a JSON syntax error with its line and imports nothing', async () => {
    const bad = writeText(
      path.join(tmp.dir, 'broken.json'),
      '{\n  "images": [],\n  "annotations": [\n    {"id": 1,}\n  ]\n}',
    );
    const { dataset, report } = await importCoco(bad, { imageDir: imgDir });
    expect(dataset.images).toEqual([]);
    expect(report).toHaveLength(1);
    expect(report[0]).toMatchObject({ file: bad, line: 4 });
    expect(report[0]!.problem).toMatch(/JSON syntax error at line 4, column 14 .*expected a property name/);
  });

  it('reports a wrong top level and missing arrays', async () => {
    const arr = writeText(path.join(tmp.dir, 'array.json'), '[1, 2]');
    expect((await importCoco(arr, { imageDir: imgDir })).report[0]).toMatchObject({
      jsonPath: '$',
      problem: expect.stringMatching(/not a JSON object/),
    });
    const partial = writeText(
      path.join(tmp.dir, 'partial.json'),
      '{"images": [], "annotations": {}, "categories": [{"id": 1, "name": "a"}]}',
    );
    const r = await importCoco(partial, { imageDir: imgDir });
    expect(r.report.map((p) => p.jsonPath)).toEqual(['$.annotations']);
  });

  it('a file without categories fails with one message naming it', async () => {
    const images = Array.from({ length: 23 }, (_, k) => ({ id: k + 1, file_name: 'a.jpg' }));
    const annotations = images.map((im) => ({
      id: im.id,
      image_id: im.id,
      category_id: 1,
      bbox: [1, 1, 2, 2],
    }));
    for (const [name, extra, said] of [
      ['none.json', {}, /no "categories" array/],
      ['empty.json', { categories: [] }, /"categories" is empty/],
      ['nameless.json', { categories: [{ id: 1 }] }, /none of its "categories" is usable/],
    ] as const) {
      const file = writeText(path.join(tmp.dir, name), JSON.stringify({ images, annotations, ...extra }));
      await expect(importCoco(file, { imageDir: imgDir })).rejects.toThrow(
        new RegExp(
          `${name} has no categories \\(${said.source}\\): a detection dataset needs its category list`,
        ),
      );
    }
  });

  it("imports a file with Python's NaN / Infinity tokens, reporting the boxes that hold them", async () => {
    const file = writeText(
      path.join(tmp.dir, 'python.json'),
      [
        '{"images": [{"id": 1, "file_name": "b.jpg", "width": NaN}],',
        ' "annotations": [',
        '  {"id": 1, "image_id": 1, "category_id": 1, "bbox": [NaN, 2, 10, 10], "area": Infinity},',
        '  {"id": 2, "image_id": 1, "category_id": 1, "bbox": [1, 2, -Infinity, 10]},',
        '  {"id": 3, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}],',
        ' "categories": [{"id": 1, "name": "NaN in a string stays"}]}',
      ].join('\n'),
    );
    const { dataset, report } = await importCoco(file, { imageDir: imgDir });
    expect(dataset.categories).toEqual([{ id: 1, name: 'NaN in a string stays' }]);
    expect(dataset.annotations.map((a) => a.id)).toEqual([3]);
    const said = Object.fromEntries(report.map((r) => [r.jsonPath ?? '', r.problem]));
    expect(said['']).toMatch(/^4 NaN \/ Infinity value\(s\) \(Python's json\.dump/);
    expect(said['$.images[0].width']).toMatch(/"NaN" is not a positive number/);
    expect(said['$.annotations[0].bbox']).toMatch(
      /box \["NaN",2,10,10\] is not four finite numbers: skipped/,
    );
    expect(said['$.annotations[1].bbox']).toMatch(/"-Infinity"/);
    expect(report).toHaveLength(4);
  });

  it('throws a clear error only when the file or the image folder cannot be read', async () => {
    await expect(importCoco(path.join(tmp.dir, 'nope.json'))).rejects.toThrow(/nope\.json cannot be read/);
    await expect(importCoco(jsonFile, { imageDir: path.join(tmp.dir, 'no-images') })).rejects.toThrow(
      /no-images cannot be read/,
    );
  });
});
