/**
 * Security first: a dataset's paths never lead the importers out of the folder the user chose.
 * `../` traversal, absolute paths elsewhere and symlinks pointing out are reported per entry and
 * skipped, for COCO, VOC and YOLO alike; nothing outside is opened.
 */
import { symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCoco } from '../../../src-main/engine/data/importers/coco-importer';
import { importVoc } from '../../../src-main/engine/data/importers/voc-importer';
import { importYolo } from '../../../src-main/engine/data/importers/yolo-importer';
import { makeTempDir, writeImage, writeText } from './fixtures';

const tmp = makeTempDir('selfemd-path-safety-');
// an image outside every dataset folder: a real, readable PNG, so only the path check can stop it
let secret: string;
beforeAll(async () => {
  secret = await writeImage(path.join(tmp.dir, 'outside', 'secret.png'), 20, 20);
});
afterAll(() => tmp.cleanup());

const box = (id: number, image_id: number) => ({
  id,
  image_id,
  category_id: 1,
  bbox: [1, 1, 5, 5],
  area: 25,
  iscrowd: 0,
});

describe('COCO file_name', () => {
  it('reports and skips traversal, absolute and symlinked paths out of the image folder', async () => {
    const root = path.join(tmp.dir, 'coco');
    const images = path.join(root, 'images');
    await writeImage(path.join(images, 'ok.png'), 30, 20);
    symlinkSync(secret, path.join(images, 'link.png'));
    const json = writeText(
      path.join(root, 'instances.json'),
      JSON.stringify({
        categories: [{ id: 1, name: 'thing' }],
        images: [
          { id: 1, file_name: 'ok.png' },
          { id: 2, file_name: '../../../../../../../../etc/passwd' },
          { id: 3, file_name: '../../outside/secret.png' },
          { id: 4, file_name: secret },
          { id: 5, file_name: 'link.png' },
        ],
        annotations: [box(1, 1), box(2, 2), box(3, 3), box(4, 4), box(5, 5)],
      }),
    );
    const { dataset, report } = await importCoco(json, { imageDir: images });
    expect(dataset.images.map((i) => i.id)).toEqual([1]);
    expect(dataset.annotations.map((a) => a.id)).toEqual([1]);
    for (const k of [1, 2, 3, 4]) {
      const hit = report.filter((r) => r.jsonPath === `$.images[${k}].file_name`);
      expect(hit, `images[${k}]`).toHaveLength(1);
      expect(hit[0]!.problem).toMatch(
        /outside the folder .*never opened; image skipped with its 1 annotation$/,
      );
    }
    // /etc/passwd was never probed: no "unreadable image" about it
    expect(report.some((r) => /unreadable/.test(r.problem))).toBe(false);
  });
});

describe('VOC paths', () => {
  it('reports and skips a <filename> or a split id that leads out of JPEGImages/ or Annotations/', async () => {
    const root = path.join(tmp.dir, 'voc');
    await writeImage(path.join(root, 'JPEGImages', 'a.jpg'), 30, 20);
    await writeImage(path.join(root, 'JPEGImages', 'b.jpg'), 30, 20);
    const xml = (file: string) =>
      `<annotation><filename>${file}</filename><object><name>dog</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>`;
    writeText(path.join(root, 'Annotations', 'a.xml'), xml('a.jpg'));
    writeText(path.join(root, 'Annotations', 'b.xml'), xml('../../outside/secret.png'));
    writeText(path.join(root, 'Annotations', 'c.xml'), xml(secret));
    writeText(path.join(tmp.dir, 'outside', 'evil.xml'), xml('a.jpg'));
    writeText(path.join(root, 'ImageSets', 'Main', 'train.txt'), 'a\nb\nc\n../../outside/evil\n');
    const { dataset, report } = await importVoc(root, { split: 'train' });
    expect(dataset.images.map((i) => path.basename(i.file))).toEqual(['a.jpg']);
    const outside = report.filter((r) => /outside the folder/.test(r.problem));
    expect(outside.map((r) => path.basename(r.file))).toEqual(['b.xml', 'c.xml', 'train.txt']);
    expect(outside.every((r) => /never opened/.test(r.problem))).toBe(true);
  });
});

describe('YOLO paths', () => {
  it('reports a symlinked image or label pointing out, and never uses a split folder outside', async () => {
    const root = path.join(tmp.dir, 'yolo');
    await writeImage(path.join(root, 'images', 'train', 'a.jpg'), 30, 20);
    await writeImage(path.join(root, 'images', 'train', 'b.jpg'), 30, 20);
    writeText(path.join(root, 'labels', 'train', 'a.txt'), '0 0.5 0.5 0.2 0.2\n');
    symlinkSync(secret, path.join(root, 'images', 'train', 'link.png'));
    writeText(path.join(tmp.dir, 'outside', 'b.txt'), '0 0.5 0.5 0.2 0.2\n');
    symlinkSync(path.join(tmp.dir, 'outside', 'b.txt'), path.join(root, 'labels', 'train', 'b.txt'));
    writeText(path.join(root, 'data.yaml'), 'train: images/train\nval: ../outside\nnames: [thing]\n');
    const { dataset, report } = await importYolo(root, { split: 'train' });
    expect(dataset.images.map((i) => path.basename(i.file))).toEqual(['a.jpg', 'b.jpg']);
    expect(dataset.annotations.map((a) => a.imageId)).toEqual([1]);
    const outside = report.filter((r) => /outside the folder/.test(r.problem));
    expect(outside.map((r) => path.basename(r.file)).sort()).toEqual(['b.txt', 'link.png']);
    // val: ../outside exists, but is not the dataset's
    await expect(importYolo(root, { split: 'val' })).rejects.toThrow(/outside the dataset folder: not used/);
  });

  it("finds Roboflow's `train: ../train/images` beside data.yaml", async () => {
    const root = path.join(tmp.dir, 'roboflow-yolo');
    await writeImage(path.join(root, 'train', 'images', 'a.jpg'), 30, 20);
    writeText(path.join(root, 'train', 'labels', 'a.txt'), '0 0.5 0.5 0.2 0.2\n');
    writeText(path.join(root, 'data.yaml'), 'train: ../train/images\nnames: [thing]\n');
    const { dataset } = await importYolo(root, { split: 'train' });
    expect(dataset.images).toHaveLength(1);
    expect(dataset.annotations).toHaveLength(1);
  });
});
