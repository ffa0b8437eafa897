/**
 * The built-in demo scenes as datasets: registered on first launch (a train split to pretrain on and
 * a val split for detection), and addable again from the import dialog with another size.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DatasetRecord } from '../../../shared/dto';
import type { CategoryCount, DemoSplit } from '../../../shared/api/types';
import {
  DEMO_CATEGORIES,
  generateDemoScene,
  makeDemoSceneScratch,
  type DemoScene,
} from '../../engine/data/demo-scenes';
import { DEMO_DATASET_SEED } from '../../engine/data/pretrain-data';
import type { ExperimentStore } from '../../store';
import { writeDatasetIndex, type DatasetIndex } from './dataset-index';

/** Side at which demo scenes are shown (thumbnails, counts). Training renders them at its own size. */
export const DEMO_VIEW_SIZE = 128;
export const FIRST_LAUNCH_DEMOS: readonly { split: DemoSplit; count: number }[] = [
  { split: 'train', count: 64 },
  { split: 'val', count: 32 },
];

const cache = new Map<string, DemoScene>();

/** Scene `index` of a demo split at the viewing size (the last few are kept: thumbnails ask often). */
export function demoScene(split: DemoSplit, index: number, seed = DEMO_DATASET_SEED): DemoScene {
  const key = `${split}:${index}:${seed}`;
  let scene = cache.get(key);
  if (!scene) {
    scene = generateDemoScene({ size: DEMO_VIEW_SIZE, seed, stream: split }, index);
    if (cache.size >= 64) cache.delete(cache.keys().next().value!);
    cache.set(key, scene);
  }
  return scene;
}

interface DemoOptions {
  count: number;
  split?: DemoSplit;
  name?: string;
  seed?: number;
}

/**
 * Counting a split's boxes renders every scene (what is hidden decides what is annotated): about 13 ms
 * a scene here, two minutes for the largest split the API allows. Rendered scenes are dropped at once
 * (10 000 of them held 490 MB), and the async form hands the event loop back every few milliseconds,
 * so that the studio keeps answering and recording a running training meanwhile.
 */
function* demoCounts(split: DemoSplit, count: number, seed: number): Generator<void, DemoCounts> {
  const scratch = makeDemoSceneScratch(DEMO_VIEW_SIZE);
  const counts: DemoCounts = { perImage: [], perCategory: new Map(), annotations: 0 };
  for (let i = 0; i < count; i++) {
    const scene = generateDemoScene({ size: DEMO_VIEW_SIZE, seed, stream: split }, i, scratch);
    counts.perImage.push(scene.annotations.length);
    counts.annotations += scene.annotations.length;
    for (const a of scene.annotations) {
      const c = counts.perCategory.get(a.category) ?? { count: 0, images: new Set<number>() };
      c.count++;
      c.images.add(i);
      counts.perCategory.set(a.category, c);
    }
    yield;
  }
  return counts;
}

interface DemoCounts {
  perImage: number[];
  perCategory: Map<number, { count: number; images: Set<number> }>;
  annotations: number;
}

function countNow(split: DemoSplit, count: number, seed: number): DemoCounts {
  const it = demoCounts(split, count, seed);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}

async function countYielding(split: DemoSplit, count: number, seed: number): Promise<DemoCounts> {
  const it = demoCounts(split, count, seed);
  let slice = performance.now();
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
    if (performance.now() - slice > 20) {
      await new Promise((resolve) => setImmediate(resolve));
      slice = performance.now();
    }
  }
}

/** Records a demo split as a dataset (its index lists every scene and its box count). */
export async function addDemoDataset(
  home: string,
  store: ExperimentStore,
  opts: DemoOptions,
): Promise<DatasetRecord> {
  const split = opts.split ?? 'train';
  const seed = opts.seed ?? DEMO_DATASET_SEED;
  return recordDemo(home, store, opts, await countYielding(split, opts.count, seed));
}

function recordDemo(
  home: string,
  store: ExperimentStore,
  opts: DemoOptions,
  counts: DemoCounts,
): DatasetRecord {
  const split = opts.split ?? 'train';
  const seed = opts.seed ?? DEMO_DATASET_SEED;
  const categoryCounts: CategoryCount[] = DEMO_CATEGORIES.map((c) => ({
    id: c.id,
    name: c.name,
    count: counts.perCategory.get(c.id)?.count ?? 0,
    images: counts.perCategory.get(c.id)?.images.size ?? 0,
  }));
  const record = store.createDataset({
    name: opts.name?.trim() || `Demo scenes · ${split} (${opts.count})`,
    kind: 'demo',
    path: null,
    imageCount: opts.count,
    annotationCount: counts.annotations,
    categories: DEMO_CATEGORIES.map((c) => ({ id: c.id, name: c.name })),
    importReport: { skipped: [] },
    split,
  });
  const index: DatasetIndex = {
    format: 'selfemd-dataset-index/1',
    imageRoot: null,
    images: counts.perImage.map((annotations, i) => ({
      file: `demo/${split}/${String(i + 1).padStart(6, '0')}.png`,
      width: DEMO_VIEW_SIZE,
      height: DEMO_VIEW_SIZE,
      annotations,
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
    for (const d of FIRST_LAUNCH_DEMOS)
      added.push(recordDemo(home, store, d, countNow(d.split, d.count, DEMO_DATASET_SEED)));
  fs.writeFileSync(marker, `${new Date().toISOString()}\n`);
  return added;
}
