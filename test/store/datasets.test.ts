import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src-main/store/errors';
import type { ExperimentStore } from '../../src-main/store/experiment-store';
import { manualClock, memoryStore, pretrainRun } from './helpers';

const coco = {
  name: 'coco-val',
  kind: 'coco' as const,
  path: '/data/coco/annotations/instances_val2017.json',
  imageCount: 5000,
  annotationCount: 36781,
  categories: [
    { id: 1, name: 'person' },
    { id: 3, name: 'car' },
  ],
  importReport: { skipped: [{ file: 'broken.jpg', reason: 'cannot decode JPEG' }] },
  split: 'val2017',
};

describe('datasets', () => {
  let store: ExperimentStore;
  const clock = manualClock();
  beforeEach(() => (store = memoryStore({ now: clock.now })));
  afterEach(() => store.close());

  it('creates, reads back and lists datasets, newest first', () => {
    const a = store.createDataset(coco);
    expect(a).toEqual({ id: a.id, createdAt: clock.now(), ...coco });
    clock.advance(1000);
    const b = store.createDataset({ name: 'demo scenes', kind: 'demo', imageCount: 64 });
    expect(b).toMatchObject({
      path: null,
      annotationCount: 0,
      categories: [],
      importReport: { skipped: [] },
      split: null,
    });
    expect(store.getDataset(a.id)).toEqual(a);
    expect(store.listDatasets().map((d) => d.id)).toEqual([b.id, a.id]);
  });

  it('rejects bad input naming the field', () => {
    expect(() => store.createDataset({ ...coco, kind: 'tfrecord' as never })).toThrow(
      'createDataset: kind must be one of images, coco, voc, yolo, demo, got "tfrecord"',
    );
    expect(() => store.createDataset({ ...coco, path: undefined })).toThrow(
      'createDataset: path is required for kind coco',
    );
    expect(() => store.createDataset({ ...coco, imageCount: -1 })).toThrow(
      /imageCount must be a whole number ≥ 0, got -1/,
    );
    expect(() =>
      store.createDataset({
        ...coco,
        categories: [
          { id: 1, name: 'a' },
          { id: 1, name: 'b' },
        ],
      }),
    ).toThrow('createDataset: categories[1].id repeats categories[0].id, got 1');
    expect(() =>
      store.createDataset({ ...coco, importReport: { skipped: [{ file: 'x.png' } as never] } }),
    ).toThrow(/importReport\.skipped\[0\]\.reason must be a non-empty string/);
    expect(store.listDatasets()).toEqual([]);
  });

  it('deletes an unused dataset and refuses one that runs still use', () => {
    const used = store.createDataset(coco);
    const unused = store.createDataset({ name: 'tmp', kind: 'images', path: '/tmp/imgs', imageCount: 3 });
    store.createRun(pretrainRun({ datasetId: used.id }));
    store.deleteDataset(unused.id);
    expect(() => store.getDataset(unused.id)).toThrow(`dataset ${unused.id} does not exist`);

    let error: unknown;
    try {
      store.deleteDataset(used.id);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'conflict' });
    expect((error as Error).message).toBe(
      `dataset ${used.id} (coco-val) is used by 1 run(s) and 0 evaluation(s); delete those first`,
    );
    expect(store.getDataset(used.id).name).toBe('coco-val');
    expect(() => store.deleteDataset(999)).toThrow(/dataset 999 does not exist/);
  });
});
