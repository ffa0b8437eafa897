/**
 * runs.predictions: a fine-tune's val image with the detections its last evaluation wrote
 * (val_detections.json beside the run), highest score first above the threshold asked for; a mask
 * detector's masks scaled to the preview and sent as uncompressed RLE counts; clear refusals.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetImage } from '../../shared/api/types';
import type { DatasetRecord } from '../../shared/dto';
import { decodeRle, encodeMask } from '../../src-main/engine/data/masks/rle';
import { compressCounts } from '../../src-main/engine/data/masks/rle-string';
import { StudioService } from '../../src-main/jobs/studio-service';
import { pngSize, tempHome } from './fixtures';
import { serviceCalls } from './service-calls';

let home: ReturnType<typeof tempHome>;
let service: StudioService;
const { call, refusal } = serviceCalls(() => service);
let val: DatasetRecord;
let image: DatasetImage;

beforeAll(async () => {
  home = tempHome('selfemd-predictions-');
  service = StudioService.open({ home: home.dir, transport: 'browser', version: 'test', seedDemos: false });
  val = await call('datasets.addDemo', { count: 2, split: 'val' });
  image = (await call('datasets.images', { id: val.id })).images[1]!;
});
afterAll(async () => {
  await service.close();
  home.cleanup();
});

/** A mask of the rectangle x0 ≤ x < x1, y0 ≤ y < y1 in the val image's pixels, as a results file holds it. */
function rectMask(x0: number, y0: number, x1: number, y1: number) {
  const data = new Uint8Array(image.width * image.height);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[y * image.width + x] = 1;
  const rle = encodeMask({ width: image.width, height: image.height, data });
  return { size: rle.size, counts: compressCounts(rle.counts) };
}

/** A fine-tune run whose last evaluation scored the demo val image 1 (under its file name) with `dets`. */
function evaluatedRun(method: string, dets: object[]): string {
  const run = service.store.createRun({
    kind: 'finetune',
    name: method,
    method,
    backbone: 'resnet18',
    datasetId: val.id,
    config: {},
  });
  const dir = service.manager.trainingDir(run.id);
  fs.mkdirSync(dir, { recursive: true });
  const gt = {
    images: [{ id: 7, file_name: image.name, width: image.width, height: image.height }],
    annotations: [{ id: 1, image_id: 7, category_id: 2, bbox: [0, 0, 8, 8], area: 64, iscrowd: 0 }],
    categories: [
      { id: 1, name: 'circle' },
      { id: 2, name: 'square' },
    ],
  };
  fs.writeFileSync(path.join(dir, 'val_gt.json'), JSON.stringify(gt));
  fs.writeFileSync(path.join(dir, 'val_detections.json'), JSON.stringify(dets));
  return run.id;
}

describe('runs.predictions', () => {
  it('gives a mask detector’s detections above the threshold, best first, masks at the preview’s size', async () => {
    const det = (score: number, categoryId: number, x0: number) => ({
      image_id: 7,
      category_id: categoryId,
      bbox: [x0, 8, 16, 16],
      score,
      segmentation: rectMask(x0, 8, x0 + 16, 24),
    });
    const id = evaluatedRun('mask-rcnn', [det(0.6, 1, 0), det(0.2, 2, 16), det(0.9, 2, 32)]);
    const size = image.width / 2;
    const v = await call('runs.predictions', { id, index: 0, size, minScore: 0.5 });
    expect(v).toMatchObject({ index: 0, total: 1, name: image.name, annotations: 1, step: null });
    expect(v.detections.map((d) => [d.category, d.score])).toEqual([
      ['square', 0.9],
      ['circle', 0.6],
    ]);
    expect(v.maskSize).toEqual([image.height / 2, image.width / 2]);
    expect(pngSize(v.dataUrl)).toEqual({ width: image.width / 2, height: image.height / 2 });
    // the 16×16 square at (32, 8) is the 8×8 square at (16, 4) of the half-size preview
    const [h, w] = v.maskSize!;
    const mask = decodeRle({ size: [h, w], counts: v.detections[0]!.maskCounts! });
    const set: number[] = [];
    mask.data.forEach((m, i) => m && set.push(i));
    expect(set.length).toBe(64);
    expect([set[0]! % w, Math.floor(set[0]! / w)]).toEqual([16, 4]);
  });

  it('gives a box detector’s boxes without masks', async () => {
    const id = evaluatedRun('faster-rcnn', [{ image_id: 7, category_id: 1, bbox: [1, 2, 3, 4], score: 0.7 }]);
    const v = await call('runs.predictions', { id, index: 0 });
    expect(v.maskSize).toBeNull();
    expect(v.detections).toEqual([{ bbox: [1, 2, 3, 4], categoryId: 1, category: 'circle', score: 0.7 }]);
  });

  it('refuses what has no predictions, naming why', async () => {
    const id = evaluatedRun('retinanet', []);
    expect((await refusal('runs.predictions', { id, index: 3 })).message).toBe(
      'val image 3 does not exist (the evaluation scored 1)',
    );
    fs.rmSync(path.join(service.manager.trainingDir(id), 'val_detections.json'));
    expect((await refusal('runs.predictions', { id, index: 0 })).message).toMatch(
      /^val_detections\.json is not there: the run has not been evaluated on its val set yet/,
    );
    const pretrain = service.store.createRun({
      kind: 'pretrain',
      name: 'byol',
      method: 'byol',
      backbone: 'resnet18',
      config: {},
    });
    expect(await refusal('runs.predictions', { id: pretrain.id, index: 0 })).toMatchObject({
      code: 'conflict',
      message: '"byol" is not a detector: it has no predictions to show',
    });
  });
});
