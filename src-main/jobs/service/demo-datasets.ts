/**
 * The built-in demo scenes as datasets: registered on first launch (a train split to pretrain on and
 * a val split for detection), and addable again from the import dialog with another size.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DatasetRecord } from '../../../shared/dto';
import type { CategoryCount, DemoSplit } from '../../../shared/api/types';
import { DEMO_CATEGORIES, generateDemoScenes, type DemoScenes } from '../../engine/data/demo-scenes';
import { DEMO_DATASET_SEED } from '../../engine/data/pretrain-data';
import type { ExperimentStore } from '../../store';
import { writeDatasetIndex, type DatasetIndex } from './dataset-index';

/** Side at which demo scenes are shown (thumbnails, counts). Training renders them at its own size. */
export const DEMO_VIEW_SIZE = 128;
export const FIRST_LAUNCH_DEMOS: readonly { split: DemoSplit; count: number }[] = [
  { split: 'train', count: 64 },
  { split: 'val', count: 32 },
];

const cache = new Map<string, DemoScenes>();

/** Generated scenes of one demo split (kept for the last few splits asked for: thumbnails ask often). */
export function demoScenes(split: DemoSplit, count: number, seed = DEMO_DATASET_SEED): DemoScenes {
  const key = `${split}:${count}:${seed}`;
  let scenes = cache.get(key);
  if (!scenes) {
    scenes = generateDemoScenes({ count, size: DEMO_VIEW_SIZE, seed, stream: split });
    if (cache.size >= 3) cache.delete(cache.keys().next().value!);
    cache.set(key, scenes);
  }
  return scenes;
}

export function addDemoDataset(
  home: string,
  store: ExperimentStore,
  opts: { count: number; split?: DemoSplit; name?: string; seed?: number },
): DatasetRecord {
  const split = opts.split ?? 'train';
  const seed = opts.seed ?? DEMO_DATASET_SEED;
  const scenes = demoScenes(split, opts.count, seed);
  const perImage = new Map<number, number>();
  const perCategory = new Map<number, { count: number; images: Set<number> }>();
  for (const a of scenes.coco.annotations) {
    perImage.set(a.image_id, (perImage.get(a.image_id) ?? 0) + 1);
    const c = perCategory.get(a.category_id) ?? { count: 0, images: new Set<number>() };
    c.count++;
    c.images.add(a.image_id);
    perCategory.set(a.category_id, c);
  }
  const categoryCounts: CategoryCount[] = DEMO_CATEGORIES.map((c) => ({
    id: c.id,
    name: c.name,
    count: perCategory.get(c.id)?.count ?? 0,
    images: perCategory.get(c.id)?.images.size ?? 0,
  }));
  const record = store.createDataset({
    name: opts.name?.trim() || `Demo scenes · ${split} (${opts.count})`,
    kind: 'demo',
    path: null,
    imageCount: opts.count,
    annotationCount: scenes.coco.annotations.length,
    categories: DEMO_CATEGORIES.map((c) => ({ id: c.id, name: c.name })),
    importReport: { skipped: [] },
    split,
  });
  const index: DatasetIndex = {
    format: 'selfemd-dataset-index/1',
    imageRoot: null,
    images: scenes.coco.images.map((im) => ({
      file: im.file_name,
      width: im.width,
      height: im.height,
      annotations: perImage.get(im.id) ?? 0,
    })),
    categoryCounts,
    demo: { stream: split, seed, count: opts.count },
  };
  writeDatasetIndex(home, record.id, index);
  return record;
}

/** On the very first launch of a home folder: the demo datasets are there. Deleting them later is respected. */
export function seedDemoDatasets(home: string, store: ExperimentStore): DatasetRecord[] {
  const marker = path.join(home, '.demo-datasets-added');
  if (fs.existsSync(marker)) return [];
  const added: DatasetRecord[] = [];
  if (store.listDatasets().length === 0)
    for (const d of FIRST_LAUNCH_DEMOS) added.push(addDemoDataset(home, store, d));
  fs.writeFileSync(marker, `${new Date().toISOString()}\n`);
  return added;
}
