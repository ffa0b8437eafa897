import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importVoc, listVocSplits, VOC_CLASSES } from '../../../src-main/engine/data/importers/voc-importer';
import { makeTempDir, writeCorruptImage, writeImage, writeText } from './fixtures';

const tmp = makeTempDir('voc-import-');
const root = path.join(tmp.dir, 'VOC');
const ann = (id: string) => path.join(root, 'Annotations', `${id}.xml`);
const jpg = (name: string) => path.join(root, 'JPEGImages', name);
const box = (x0: number | string, y0: number, x1: number | string, y1: number) =>
  `<bndbox><xmin>${x0}</xmin><ymin>${y0}</ymin><xmax>${x1}</xmax><ymax>${y1}</ymax></bndbox>`;
const simple = (file: string, name: string, b: string, size = '') =>
  `<annotation>\n  <filename>${file}</filename>${size}\n  <object><name>${name}</name>${b}</object>\n</annotation>\n`;

beforeAll(async () => {
  await writeImage(jpg('000001.jpg'), 100, 80);
  await writeImage(jpg('000002.jpg'), 50, 50);
  writeCorruptImage(jpg('000003.jpg'));
  await writeImage(jpg('000005.jpg'), 40, 30);
  await writeImage(jpg('000006.png'), 20, 20);
  writeText(
    ann('000001'),
    [
      '<annotation>',
      '  <filename>000001.jpg</filename>',
      '  <size><width>100</width><height>80</height><depth>3</depth></size>',
      '  <object><name>dog</name><difficult>0</difficult>',
      `    ${box(1, 1, 50, 40)}</object>`,
      '  <object><name>cat</name><difficult>1</difficult>',
      `    ${box(60, 10, 120, 30)}</object>`,
      '  <object><name>dog</name></object>',
      `  <object><name>dog</name>${box(30, 1, 20, 5)}</object>`,
      `  <object><name>dog</name>${box(200, 1, 220, 5)}</object>`,
      `  <object><name>unicorn</name>${box(1, 1, 5, 5)}</object>`,
      `  <object><name>dog</name>${box(1, 1, 'abc', 5)}</object>`,
      '</annotation>',
    ].join('\n'),
  );
  writeText(
    ann('000002'),
    '<annotation>\n  <filename>000002.jpg</filename>\n  <object>\n    <name>dog</name>\n  </objekt>\n</annotation>\n',
  );
  writeText(ann('000003'), simple('000003.jpg', 'bird', box(1, 1, 10, 10)));
  writeText(ann('000004'), simple('000004.jpg', 'bird', box(1, 1, 10, 10)));
  writeText(
    ann('000005'),
    simple('000005.jpg', 'bird', box(1, 1, 40, 30), '<size><width>41</width><height>30</height></size>'),
  );
  writeText(ann('000006'), simple('000006.png', 'cat', box(2, 2, 5, 5)));
  writeText(
    path.join(root, 'ImageSets', 'Main', 'train.txt'),
    '000001\n000002\n000003\n000004\n000005\n000001\n000006\n000007\n',
  );
  writeText(path.join(root, 'ImageSets', 'Main', 'val.txt'), '000005\n');
  writeText(path.join(root, 'ImageSets', 'Main', 'dog_train.txt'), '000001  1\n');
  // a clean set with VOC names only
  await writeImage(path.join(tmp.dir, 'VOC2', 'JPEGImages', 'x.jpg'), 30, 30);
  writeText(path.join(tmp.dir, 'VOC2', 'Annotations', 'x.xml'), simple('x.jpg', 'dog', box(1, 1, 30, 30)));
});
afterAll(() => tmp.cleanup());

describe('importVoc', () => {
  it('imports a split, converting 1-based inclusive corners, and reports every bad entry with its line', async () => {
    const { dataset, report } = await importVoc(root, { split: 'train', classes: ['dog', 'cat', 'bird'] });
    expect(dataset.categories).toEqual([
      { id: 1, name: 'dog' },
      { id: 2, name: 'cat' },
      { id: 3, name: 'bird' },
    ]);
    expect(dataset.images).toEqual([
      { id: 1, file: jpg('000001.jpg'), width: 100, height: 80 },
      { id: 2, file: jpg('000005.jpg'), width: 40, height: 30 },
      { id: 3, file: jpg('000006.png'), width: 20, height: 20 },
    ]);
    expect(dataset.annotations).toEqual([
      // xmin 1..xmax 50 covers pixels 1..50 = continuous [0, 50]
      { id: 1, imageId: 1, categoryId: 1, bbox: [0, 0, 50, 40], area: 2000, iscrowd: 0, difficult: false },
      // 60..120 x 10..30 -> [59, 9, 61, 21], clipped at x = 100 -> width 41
      {
        id: 2,
        imageId: 1,
        categoryId: 2,
        bbox: [59, 9, 41, 21],
        area: 861,
        iscrowd: 0,
        difficult: true,
        clipped: true,
      },
      { id: 3, imageId: 2, categoryId: 3, bbox: [0, 0, 40, 30], area: 1200, iscrowd: 0, difficult: false },
      { id: 4, imageId: 3, categoryId: 2, bbox: [1, 1, 4, 4], area: 16, iscrowd: 0, difficult: false },
    ]);
    const expected: [string, number | undefined, RegExp][] = [
      [ann('000001'), 6, /extends outside the 100×80 image: clipped to \[59, 9, 41, 21\]/],
      [ann('000001'), 8, /has no <bndbox>: object skipped/],
      [ann('000001'), 9, /xmin 30, .*xmax 20.*non-positive size: skipped/],
      [ann('000001'), 10, /entirely outside the 100×80 image: skipped/],
      [ann('000001'), 11, /unknown category "unicorn": object skipped/],
      [ann('000001'), 12, /<xmax> "abc", not a number: object skipped/],
      [
        ann('000002'),
        5,
        /XML error at line 5, column 3: closing tag <\/objekt> does not match <object> opened on line 3/,
      ],
      [ann('000003'), undefined, /unreadable image .*000003\.jpg; image skipped with its 1 objects/],
      [ann('000004'), 1, /image file not found \(tried .*000004\.jpg/],
      [ann('000005'), undefined, /<size> says 41×30 but the image is 40×30: using the image's size/],
      [
        path.join(root, 'ImageSets', 'Main', 'train.txt'),
        6,
        /duplicate image id 000001 \(first on line 1\): skipped/,
      ],
      [
        path.join(root, 'ImageSets', 'Main', 'train.txt'),
        8,
        /image id 000007 is listed but .*Annotations\/000007\.xml does not exist: skipped/,
      ],
    ];
    for (const [file, line, message] of expected) {
      const hit = report.filter((r) => r.file === file && r.line === line && message.test(r.problem));
      expect(hit, `${path.basename(file)}:${line} ${message}`).toHaveLength(1);
    }
    expect(report).toHaveLength(expected.length);
  });

  it('without a split reads every XML; categories are the sorted names unless all are VOC classes', async () => {
    const all = await importVoc(root);
    expect(all.dataset.categories.map((c) => c.name)).toEqual(['bird', 'cat', 'dog', 'unicorn']);
    expect(all.dataset.images.map((im) => path.basename(im.file))).toEqual([
      '000001.jpg',
      '000005.jpg',
      '000006.png',
    ]);
    expect(all.dataset.annotations.find((a) => a.categoryId === 4)?.bbox).toEqual([0, 0, 5, 5]);
    const voc = await importVoc(path.join(tmp.dir, 'VOC2'));
    expect(voc.dataset.categories).toHaveLength(20);
    expect(voc.dataset.annotations).toEqual([
      {
        id: 1,
        imageId: 1,
        categoryId: VOC_CLASSES.indexOf('dog') + 1,
        bbox: [0, 0, 30, 30],
        area: 900,
        iscrowd: 0,
        difficult: false,
      },
    ]);
    expect(voc.report).toEqual([]);
  });

  it('reads the images from another folder than JPEGImages/ when one is named', async () => {
    const other = path.join(tmp.dir, 'VOC3');
    await writeImage(path.join(other, 'images', 'y.jpg'), 24, 16);
    writeText(path.join(other, 'Annotations', 'y.xml'), simple('y.jpg', 'cat', box(1, 1, 10, 10)));
    await expect(importVoc(other)).rejects.toThrow(/has no JPEGImages\/ folder \(name its image folder/);
    const relative = await importVoc(other, { imageDir: 'images' });
    expect(relative.dataset.images).toEqual([
      { id: 1, file: path.join(other, 'images', 'y.jpg'), width: 24, height: 16 },
    ]);
    expect(relative.report).toEqual([]);
    const absolute = await importVoc(other, { imageDir: path.join(other, 'images') });
    expect(absolute.dataset.annotations).toHaveLength(1);
    await expect(importVoc(other, { imageDir: 'pics' })).rejects.toThrow(
      /VOC image folder .*pics does not exist/,
    );
  });

  it('lists splits and throws clear errors for a missing root, folder or split', async () => {
    expect(await listVocSplits(root)).toEqual(['train', 'val']);
    await expect(importVoc(path.join(tmp.dir, 'missing'))).rejects.toThrow(/missing does not exist/);
    await expect(importVoc(tmp.dir)).rejects.toThrow(/has no Annotations\/ folder/);
    await expect(importVoc(root, { split: 'test' })).rejects.toThrow(
      /split "test" not found: .*\(available: train, val\)/,
    );
  });
});
