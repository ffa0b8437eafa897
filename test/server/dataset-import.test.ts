/**
 * Importing through the API the way datasets are laid out: a COCO dataset root (annotations/ +
 * train/), an explicit image folder (the `imageDir` argument, the import form's field), an image
 * folder that merely holds a stats.json, and a COCO file whose images are nowhere (the message says
 * where it looked). file_names that leave the folder appear in the import report.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudioService } from '../../src-main/jobs/studio-service';
import { pngSize, tempHome, writePng } from './fixtures';
import { serviceCalls } from './service-calls';

let home: ReturnType<typeof tempHome>;
let service: StudioService;
const { call, refusal } = serviceCalls(() => service);

beforeAll(() => {
  home = tempHome('selfemd-import-api-');
  service = StudioService.open({ home: home.dir, transport: 'browser', version: 'test' });
});
afterAll(async () => {
  await service.close();
  home.cleanup();
});

function coco(file: string, names: string[]): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    JSON.stringify({
      images: names.map((n, k) => ({ id: k + 1, file_name: n })),
      annotations: names.map((_, k) => ({ id: k + 1, image_id: k + 1, category_id: 1, bbox: [1, 1, 4, 4] })),
      categories: [{ id: 1, name: 'thing' }],
    }),
  );
  return file;
}

describe('datasets.import and dataset layouts', () => {
  it('imports a COCO dataset root (annotations/instances_train.json + train/) as COCO', async () => {
    const root = path.join(home.dir, 'coco-root');
    await writePng(path.join(root, 'train', 'a.png'), 20, 16, 1);
    await writePng(path.join(root, 'train', 'b.png'), 20, 16, 2);
    coco(path.join(root, 'annotations', 'instances_train.json'), ['a.png', 'b.png', '../../outside.png']);
    await writePng(path.join(home.dir, 'outside.png'), 20, 16, 3);
    const record = await call('datasets.import', { path: root });
    expect([record.kind, record.imageCount, record.annotationCount]).toEqual(['coco', 2, 2]);
    const escape = record.importReport.skipped.find((s) => s.reason.includes('$.images[2].file_name'))!;
    expect(escape.reason).toMatch(/outside the folder .*train/);
  });

  it('takes an explicit image folder, and says where it looked without one', async () => {
    const root = path.join(home.dir, 'coco-elsewhere');
    await writePng(path.join(root, 'pictures', 'a.png'), 20, 16, 1);
    const json = coco(path.join(root, 'labels', 'gt.json'), ['a.png']);
    const lost = await refusal('datasets.import', { path: json });
    expect(lost.message).toContain('none of its 1 file_name(s) (e.g. "a.png") is in');
    for (const dir of ['labels', 'labels/gt', 'labels/images'])
      expect(lost.message).toContain(path.join(root, dir));
    expect(lost.hint).toMatch(/image folder/);
    const record = await call('datasets.import', {
      path: json,
      format: 'coco',
      imageDir: path.join(root, 'pictures'),
    });
    expect([record.kind, record.imageCount]).toEqual(['coco', 1]);
    expect(
      (await refusal('datasets.import', { path: json, format: 'yolo', imageDir: root })).message,
    ).toMatch(/only for COCO and VOC/);
  });

  it('a COCO file without categories is refused with one message, not recorded with a report', async () => {
    const root = path.join(home.dir, 'coco-nocats');
    await writePng(path.join(root, 'a.png'), 20, 16, 1);
    const json = path.join(root, 'gt.json');
    writeFileSync(
      json,
      JSON.stringify({
        images: [{ id: 1, file_name: 'a.png' }],
        annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [1, 1, 4, 4] }],
      }),
    );
    const before = (await call('datasets.list', {})).length;
    const r = await refusal('datasets.import', { path: json });
    expect(r.message).toBe(
      `COCO annotation file ${json} has no categories (no "categories" array): a detection dataset needs its category list`,
    );
    expect(await call('datasets.list', {})).toHaveLength(before);
  });

  it('importing the same folder again names the copy', async () => {
    const dir = path.join(home.dir, 'again');
    await writePng(path.join(dir, 'a.png'), 20, 16, 1);
    const names = [];
    for (let k = 0; k < 3; k++) names.push((await call('datasets.import', { path: dir })).name);
    expect(names).toEqual(['again', 'again (2)', 'again (3)']);
    expect((await call('datasets.import', { path: dir, name: 'again' })).name).toBe('again (4)');
  });

  it('opens an image with its boxes, the clipped ones marked; demo scenes too; image folders have none', async () => {
    const root = path.join(home.dir, 'coco-boxes');
    await writePng(path.join(root, 'a.png'), 40, 30, 1);
    const json = path.join(root, 'gt.json');
    writeFileSync(
      json,
      JSON.stringify({
        images: [{ id: 1, file_name: 'a.png' }],
        annotations: [
          { id: 1, image_id: 1, category_id: 2, bbox: [1, 2, 10, 8] },
          { id: 2, image_id: 1, category_id: 1, bbox: [30, 20, 20, 20] },
        ],
        categories: [
          { id: 1, name: 'cat' },
          { id: 2, name: 'dog' },
        ],
      }),
    );
    const record = await call('datasets.import', { path: json });
    expect(record.importReport.skipped.map((s) => s.reason)).toEqual([
      expect.stringMatching(/\$\.annotations\[1\]\.bbox: .*clipped to \[30, 20, 10, 10\]/),
    ]);
    const view = await call('datasets.image', { id: record.id, index: 0, size: 64 });
    expect([view.name, view.width, view.height, view.boxesKnown]).toEqual(['a.png', 40, 30, true]);
    expect(view.boxes).toEqual([
      { bbox: [1, 2, 10, 8], categoryId: 2, category: 'dog', clipped: false },
      { bbox: [30, 20, 10, 10], categoryId: 1, category: 'cat', clipped: true },
    ]);
    expect(pngSize(view.dataUrl)).toEqual({ width: 40, height: 30 });
    const demo = (await call('datasets.list', {})).find((d) => d.kind === 'demo')!;
    const scene = await call('datasets.image', { id: demo.id, index: 0 });
    expect(scene.boxes.length).toBe(scene.annotations);
    expect(scene.boxes.length).toBeGreaterThan(0);
    const photos = path.join(home.dir, 'plain');
    await writePng(path.join(photos, 'p.png'), 20, 16, 1);
    const plain = await call('datasets.import', { path: photos });
    expect((await call('datasets.image', { id: plain.id, index: 0 })).boxesKnown).toBe(false);
    expect((await refusal('datasets.image', { id: plain.id, index: 5 })).message).toMatch(
      /image 5 does not exist \("plain" has 1 images\)/,
    );
  });

  it('an image folder with a stats.json is an image folder; "coco" given a folder is searched (no EISDIR)', async () => {
    const dir = path.join(home.dir, 'photos');
    await writePng(path.join(dir, 'a.png'), 20, 16, 1);
    writeFileSync(path.join(dir, 'stats.json'), '{"images": 1, "mean": 0.5}');
    const record = await call('datasets.import', { path: dir });
    expect([record.kind, record.imageCount]).toEqual(['images', 1]);
    const asCoco = await refusal('datasets.import', { path: dir, format: 'coco' });
    expect(asCoco.message).not.toMatch(/EISDIR/);
    expect(asCoco.message).toMatch(/is a folder without a COCO annotation file/);
  });
});
