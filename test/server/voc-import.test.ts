/**
 * A VOC folder through the API as it is laid out: its splits listed (datasets.splits, the import
 * form's selector), one split imported (the record says which), ids listed without files reported,
 * images in another folder than JPEGImages/, and a fine-tune reading each dataset the way it was
 * imported (the split and the image folder, remembered in the dataset's index).
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MachineDescription } from '../../shared/config/run-defaults';
import { StudioService } from '../../src-main/jobs/studio-service';
import { resolveNewFinetune } from '../../src-main/jobs/service/new-finetune';
import { tempHome, writePng } from './fixtures';
import { serviceCalls } from './service-calls';

let home: ReturnType<typeof tempHome>;
let service: StudioService;
let root: string;
const { call, refusal } = serviceCalls(() => service);
const GPU: MachineDescription = { backends: ['auto', 'tfjs-node-gpu', 'wasm', 'cpu'], cpus: 2 };

function write(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

beforeAll(async () => {
  home = tempHome('selfemd-voc-api-');
  service = StudioService.open({ home: home.dir, transport: 'browser', version: 'test' });
  root = path.join(home.dir, 'VOCdevkit', 'VOC2007');
  for (const [k, id] of ['a1', 'a2', 'b1'].entries()) {
    await writePng(path.join(root, 'photos', `${id}.png`), 32, 24, k + 1);
    write(
      path.join(root, 'Annotations', `${id}.xml`),
      `<annotation><filename>${id}.png</filename><object><name>dog</name><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>20</xmax><ymax>20</ymax></bndbox></object></annotation>`,
    );
  }
  write(path.join(root, 'ImageSets', 'Main', 'train.txt'), 'a1\na2\ngone\n');
  write(path.join(root, 'ImageSets', 'Main', 'val.txt'), 'b1\n');
  write(path.join(root, 'ImageSets', 'Main', 'dog_train.txt'), 'a1 1\n');
});
afterAll(async () => {
  await service.close();
  home.cleanup();
});

describe('VOC import: split, image folder, remembered by fine-tuning', () => {
  it('lists the splits of a VOC folder (class lists left out), none for other paths', async () => {
    expect(await call('datasets.splits', { path: root })).toEqual({
      format: 'voc',
      splits: ['train', 'val'],
    });
    expect(await call('datasets.splits', { path: home.dir })).toEqual({ format: null, splits: [] });
  });

  it('imports one split from another image folder; ids without files are reported by line', async () => {
    const without = await refusal('datasets.import', { path: root, split: 'train' });
    expect(without.message).toMatch(/has no JPEGImages\/ folder/);
    const train = await call('datasets.import', {
      path: root,
      split: 'train',
      imageDir: path.join(root, 'photos'),
    });
    expect([train.kind, train.split, train.name, train.imageCount, train.annotationCount]).toEqual([
      'voc',
      'train',
      'VOC2007 (train)',
      2,
      2,
    ]);
    expect(train.importReport.skipped).toEqual([
      {
        file: 'ImageSets/Main/train.txt',
        reason: expect.stringMatching(
          /^line 3: image id gone is listed but .*gone\.xml does not exist: skipped$/,
        ),
      },
    ]);
    const bad = await refusal('datasets.import', {
      path: root,
      split: 'test',
      imageDir: path.join(root, 'photos'),
    });
    expect(bad.message).toMatch(/split "test" not found: .*\(available: train, val\)/);
    expect(
      (await refusal('datasets.import', { path: root, format: 'images', split: 'train' })).message,
    ).toMatch(/split can be chosen only for VOC and YOLO/);
  });

  it('a fine-tune reads train and val with the split and image folder they were imported with', async () => {
    const photos = path.join(root, 'photos');
    const train = (await call('datasets.list', {})).find((d) => d.split === 'train' && d.kind === 'voc')!;
    const val = await call('datasets.import', { path: root, split: 'val', imageDir: photos });
    const r = resolveNewFinetune(
      home.dir,
      service.store,
      { init: 'random', trainDatasetId: train.id, valDatasetId: val.id, config: {} },
      GPU,
    );
    expect(r.issues).toEqual([]);
    expect(r.config!.data).toMatchObject({
      train: root,
      val: root,
      trainSplit: 'train',
      valSplit: 'val',
      trainImages: photos,
      valImages: photos,
    });
  });
});
