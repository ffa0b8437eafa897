/**
 * COCO datasets import the way they are usually laid out: annotations/instances_<split>.json with
 * the images in <split>/ (or images/, <split>2017/), Roboflow's _annotations.coco.json inside the
 * image folder, a dataset root holding both; an explicit image folder wins; when no folder holds
 * the images the error says where it looked; a folder never answers EISDIR, and an unrelated
 * stats.json is never taken for the annotation file.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importCoco } from '../../../src-main/engine/data/importers/coco-importer';
import { findCocoAnnotationFiles } from '../../../src-main/engine/data/importers/coco-layout';
import { detectDatasetFormat, importDataset } from '../../../src-main/engine/data/importers/import-dataset';
import { makeTempDir, writeImage, writeText } from './fixtures';

const tmp = makeTempDir('selfemd-coco-layout-');
afterAll(() => tmp.cleanup());

function cocoJson(file: string, names: string[]): string {
  return writeText(
    file,
    JSON.stringify({
      info: { description: 'test' },
      images: names.map((n, k) => ({ id: k + 1, file_name: n })),
      annotations: names.map((_, k) => ({ id: k + 1, image_id: k + 1, category_id: 1, bbox: [1, 1, 4, 4] })),
      categories: [{ id: 1, name: 'thing' }],
    }),
  );
}
async function images(dir: string, names: string[]): Promise<void> {
  for (const n of names) await writeImage(path.join(dir, n), 16, 12);
}
const names = ['a.jpg', 'b.jpg'];

describe('COCO layouts', () => {
  it.each([
    ['train', 'instances_train.json'],
    ['images', 'instances_train.json'],
    ['train2017', 'instances_train.json'],
    ['train2017', 'instances_train2017.json'],
    ['images/val', 'instances_val.json'],
  ])('annotations/%s-style: images in %s/ beside annotations/', async (folder, jsonName) => {
    const root = path.join(tmp.dir, `layout-${folder.replace('/', '-')}-${jsonName}`);
    await images(path.join(root, folder), names);
    const json = cocoJson(path.join(root, 'annotations', jsonName), names);
    const { dataset, report } = await importCoco(json);
    expect(report).toEqual([]);
    expect(dataset.images.map((i) => i.file)).toEqual(names.map((n) => path.join(root, folder, n)));
    // the dataset root itself imports too, as COCO
    expect(await detectDatasetFormat(root)).toBe('coco');
    expect((await importDataset(root)).dataset.images).toHaveLength(2);
  });

  it("Roboflow's _annotations.coco.json inside the image folder, given as the folder or the root", async () => {
    const root = path.join(tmp.dir, 'roboflow');
    await images(path.join(root, 'train'), names);
    cocoJson(path.join(root, 'train', '_annotations.coco.json'), names);
    expect((await importDataset(path.join(root, 'train'), { format: 'coco' })).dataset.images).toHaveLength(
      2,
    );
    expect((await importDataset(root)).dataset.images).toHaveLength(2);
    // with a second split the root is ambiguous: say which files there are
    await images(path.join(root, 'valid'), names);
    cocoJson(path.join(root, 'valid', '_annotations.coco.json'), names);
    await expect(importDataset(root, { format: 'coco' })).rejects.toThrow(
      /holds 2 COCO annotation files \(train\/_annotations\.coco\.json, valid\/_annotations\.coco\.json\): import one of them/,
    );
  });

  it('an explicit image folder wins over the layout', async () => {
    const root = path.join(tmp.dir, 'explicit');
    await images(path.join(root, 'elsewhere', 'pics'), names);
    const json = cocoJson(path.join(root, 'annotations', 'instances_train.json'), names);
    const { dataset } = await importCoco(json, { imageDir: path.join(root, 'elsewhere', 'pics') });
    expect(dataset.images.map((i) => path.dirname(i.file))).toEqual(
      Array(2).fill(path.join(root, 'elsewhere', 'pics')),
    );
  });

  it('says where it looked when the images are nowhere', async () => {
    const root = path.join(tmp.dir, 'lost');
    const json = cocoJson(path.join(root, 'annotations', 'instances_train.json'), names);
    const err = await importCoco(json).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(err).toContain('none of its 2 file_name(s) (e.g. "a.jpg") is in');
    for (const dir of ['annotations', 'train', 'images', 'train2017'])
      expect(err, dir).toContain(path.join(root, dir));
  });

  it('a folder given as "COCO JSON" is searched, never read as a file (no EISDIR); stats.json is not COCO', async () => {
    const root = path.join(tmp.dir, 'with-stats');
    await images(path.join(root, 'images'), names);
    cocoJson(path.join(root, 'annotations.json'), names);
    writeText(path.join(root, 'stats.json'), JSON.stringify({ images: 2, mean: [0.5, 0.5, 0.5] }));
    expect(await findCocoAnnotationFiles(root)).toEqual([path.join(root, 'annotations.json')]);
    const { dataset } = await importDataset(root, { format: 'coco' });
    expect(dataset.images).toHaveLength(2);
    // a folder of images with only an unrelated JSON is not COCO at all
    const plain = path.join(tmp.dir, 'plain');
    await images(plain, names);
    writeText(path.join(plain, 'stats.json'), '{"count": 2}');
    expect(await detectDatasetFormat(plain)).toBeNull();
    await expect(importDataset(plain, { format: 'coco' })).rejects.toThrow(
      /is a folder without a COCO annotation file/,
    );
  });
});
