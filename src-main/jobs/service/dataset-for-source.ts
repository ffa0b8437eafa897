/**
 * The dataset record of a fine-tune's `--train` / `--val` source, as `selfemd finetune` names it (a
 * path, or `demo` with a scene count and seed): the one the store already has, or a new one made as
 * the studio makes it (the import of that path, or the demo split). The record is what the studio
 * shows the run's data and evaluations against; training still reads the source itself.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DatasetRecord } from '../../../shared/dto';
import type { DemoSplit } from '../../../shared/api/types';
import type { ExperimentStore } from '../../store';
import { readDatasetIndex } from './dataset-index';
import { importFromPath, readDatasetAt } from './dataset-import';
import { addDemoDataset } from './demo-datasets';

export type DatasetSource = { demo: { split: DemoSplit; count: number; seed: number } } | { path: string };

/** The record a source already has: a demo split of that size and seed, or an import of that path. */
function findRecord(home: string, store: ExperimentStore, source: DatasetSource): DatasetRecord | undefined {
  const datasets = store.listDatasets();
  if ('demo' in source) {
    const { split, count, seed } = source.demo;
    return datasets.find((d) => {
      const demo = d.kind === 'demo' ? readDatasetIndex(home, d.id)?.demo : null;
      return demo?.stream === split && demo.count === count && demo.seed === seed;
    });
  }
  const p = path.resolve(source.path);
  // A COCO folder is recorded as its annotation file (importFromPath picks the folder's one .json).
  return datasets.find(
    (d) =>
      d.kind !== 'images' &&
      d.path !== null &&
      (d.path === p || (d.kind === 'coco' && path.dirname(d.path) === p)),
  );
}

/**
 * How the studio imported `source` (its image folder, its split), when a dataset of that path is
 * recorded: a fine-tune naming the path reads it the same way.
 */
export function recordedImportOptions(
  home: string,
  store: ExperimentStore,
  source: string,
): { imageDir?: string; split?: string } {
  const found = findRecord(home, store, { path: source });
  return (found && readDatasetIndex(home, found.id)?.importOptions) ?? {};
}

export async function datasetForSource(
  home: string,
  store: ExperimentStore,
  source: DatasetSource,
): Promise<DatasetRecord> {
  const found = findRecord(home, store, source);
  if (found) return found;
  if ('demo' in source) return addDemoDataset(home, store, source.demo);
  if (!fs.existsSync(source.path)) throw new Error(`${source.path}: no such file or folder`);
  return importFromPath(home, store, { path: source.path }, () => undefined);
}

/** What a plan needs of a source's dataset: its record's id (null when not recorded yet), path and size. */
export interface SourceDataset {
  id: number | null;
  /** The recorded (or would-be recorded) path: a COCO folder's annotation file; null for demo. */
  path: string | null;
  imageCount: number;
}

/**
 * The dataset of `source` as `datasetForSource` would give it, with nothing written: the record the
 * store has, else what an import of it would record (the path is read), else the demo split's size.
 * For estimates, which must leave the store as they found it.
 */
export async function describeSource(
  home: string,
  store: ExperimentStore,
  source: DatasetSource,
): Promise<SourceDataset> {
  const found = findRecord(home, store, source);
  if (found) return { id: found.id, path: found.path, imageCount: found.imageCount };
  if ('demo' in source) return { id: null, path: null, imageCount: source.demo.count };
  if (!fs.existsSync(source.path)) throw new Error(`${source.path}: no such file or folder`);
  const read = await readDatasetAt(store, { path: source.path });
  return { id: null, path: read.input.path ?? null, imageCount: read.input.imageCount };
}
