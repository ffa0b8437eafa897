/**
 * A fine-tune's imported data is read the way it was imported: data.trainSplit / valSplit choose the
 * VOC lists and data.trainImages / valImages the image folder (here not JPEGImages/), so the train
 * and val splits of one VOC folder are two datasets.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_FINETUNE_CONFIG } from '../../../shared/config/finetune';
import { loadDetectionData } from '../../../src-main/engine/detection/datasets';
import { makeTempDir, writeImage, writeText } from '../importers/fixtures';

const tmp = makeTempDir('ft-imported-');
afterAll(() => tmp.cleanup());

describe('loadDetectionData with split and image folder', () => {
  it('reads train and val splits of one VOC folder from its image folder', async () => {
    const root = path.join(tmp.dir, 'VOC');
    for (const id of ['a1', 'a2', 'b1']) {
      await writeImage(path.join(root, 'pics', `${id}.jpg`), 40, 32);
      writeText(
        path.join(root, 'Annotations', `${id}.xml`),
        `<annotation><filename>${id}.jpg</filename><object><name>cat</name><bndbox><xmin>2</xmin><ymin>3</ymin><xmax>20</xmax><ymax>30</ymax></bndbox></object></annotation>`,
      );
    }
    writeText(path.join(root, 'ImageSets', 'Main', 'train.txt'), 'a1\na2\n');
    writeText(path.join(root, 'ImageSets', 'Main', 'val.txt'), 'b1\n');
    const config = structuredClone(DEFAULT_FINETUNE_CONFIG);
    config.data = {
      ...config.data,
      train: root,
      val: root,
      trainSplit: 'train',
      valSplit: 'val',
      trainImages: path.join(root, 'pics'),
      valImages: 'pics',
      minSizeTrain: [32, 32],
      minSizeTest: 32,
    };
    const { train, val } = await loadDetectionData(config);
    expect(train.samples).toHaveLength(2);
    expect(val.samples).toHaveLength(1);
    expect(val.coco.images[0]!.file_name).toBe(path.join(root, 'pics', 'b1.jpg'));
  });

  it("reads val in train's category ids, matched by name; refuses only other names", async () => {
    const dir = path.join(tmp.dir, 'coco');
    await writeImage(path.join(dir, 'a.jpg'), 40, 32);
    const coco = (file: string, categories: { id: number; name: string }[], categoryId: number) =>
      writeText(
        path.join(dir, file),
        JSON.stringify({
          images: [{ id: 1, file_name: 'a.jpg' }],
          annotations: [{ id: 1, image_id: 1, category_id: categoryId, bbox: [1, 1, 10, 10] }],
          categories,
        }),
      );
    const train = coco(
      'train.json',
      [
        { id: 1, name: 'cat' },
        { id: 7, name: 'dog' },
      ],
      7,
    );
    const val = coco(
      'val.json',
      [
        { id: 1, name: 'dog' },
        { id: 2, name: 'cat' },
      ],
      1,
    );
    const other = coco(
      'other.json',
      [
        { id: 1, name: 'dog' },
        { id: 2, name: 'cow' },
      ],
      1,
    );
    const config = structuredClone(DEFAULT_FINETUNE_CONFIG);
    config.data = { ...config.data, train, val, minSizeTrain: [32, 32], minSizeTest: 32 };
    const data = await loadDetectionData(config);
    expect(data.val.categories).toEqual(data.train.categories);
    // the val box is a dog: train's id 7, class index 1
    expect(data.val.coco.annotations[0]!.category_id).toBe(7);
    expect(Array.from(data.val.samples[0]!.classes)).toEqual([1]);
    config.data.val = other;
    await expect(loadDetectionData(config)).rejects.toThrow(
      /data.val's categories differ from data.train's \(only data.val has "cow"; only data.train has "cat"\)/,
    );
  });
});
