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
});
