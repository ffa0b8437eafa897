/**
 * What the store does not keep about a dataset: its image list (for thumbnails, the transport view
 * and training) and per-category counts. One JSON file per dataset, `<home>/datasets/<id>/index.json`,
 * written atomically; the store row is the dataset's identity, this file its contents.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileDurable } from '../../engine/disk-write';
import type { CategoryCount } from '../../../shared/api/types';

export interface IndexedImage {
  /** Relative to `imageRoot` (POSIX separators), or the demo scene's name. */
  file: string;
  width: number;
  height: number;
  annotations: number;
}

export interface DatasetIndex {
  format: 'selfemd-dataset-index/1';
  /** Folder holding every image (a run trains on it); null for demo scenes. */
  imageRoot: string | null;
  images: IndexedImage[];
  categoryCounts: CategoryCount[];
  /** Set for generated scenes: regenerate them instead of reading files. */
  demo: { stream: 'train' | 'val'; seed: number; count: number } | null;
  /**
   * How the source was read when it was imported, so a fine-tune reads it the same way: the image
   * folder the user named (absolute) and the split. Absent in indexes written before they were kept.
   */
  importOptions?: { imageDir?: string; split?: string };
}

export function datasetDir(home: string, id: number): string {
  return path.join(home, 'datasets', String(id));
}

export function writeDatasetIndex(home: string, id: number, index: DatasetIndex): void {
  writeJsonAtomically(path.join(datasetDir(home, id), 'index.json'), index);
}

export function readDatasetIndex(home: string, id: number): DatasetIndex | null {
  return readJsonOfFormat<DatasetIndex>(
    path.join(datasetDir(home, id), 'index.json'),
    'selfemd-dataset-index/1',
  );
}

/** The file's JSON when it is there and of `format`, else null. */
function readJsonOfFormat<T extends { format: string }>(file: string, format: T['format']): T | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as T;
    return parsed.format === format ? parsed : null;
  } catch {
    return null;
  }
}

/**
 * A labelled dataset's boxes, for showing an image with them drawn: per image of the index (same
 * order), `[x, y, w, h, categoryId, clipped 0|1]` in the image's pixels. A file of its own, so
 * paging through the index does not read every box.
 */
export interface DatasetBoxes {
  format: 'selfemd-dataset-boxes/1';
  images: [number, number, number, number, number, 0 | 1][][];
}

/** Through the engine's durable write, so a full disk surfaces as a DiskFullError naming the folder. */
function writeJsonAtomically(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileDurable(tmp, JSON.stringify(value));
  fs.renameSync(tmp, file);
}

let staged = 0;

/**
 * Writes a new dataset's files into a staging folder under `<home>/datasets/` (hidden, no id yet)
 * and returns it. The writes that can meet a full disk happen here, before any store row exists;
 * on failure the staging folder is removed and the error rethrown.
 */
export function stageDatasetFiles(home: string, index: DatasetIndex, boxes: DatasetBoxes | null): string {
  const dir = path.join(home, 'datasets', `.importing-${process.pid}-${++staged}`);
  try {
    writeJsonAtomically(path.join(dir, 'index.json'), index);
    if (boxes) writeJsonAtomically(path.join(dir, 'boxes.json'), boxes);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return dir;
}

/** Moves a staged dataset's files to the recorded dataset `id` (a rename: needs no free space). */
export function commitStagedDataset(home: string, staging: string, id: number): void {
  const dir = datasetDir(home, id);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(staging, dir);
}

export function writeDatasetBoxes(home: string, id: number, boxes: DatasetBoxes): void {
  writeJsonAtomically(path.join(datasetDir(home, id), 'boxes.json'), boxes);
}

/** Null for datasets imported before boxes were kept, and for image folders. */
export function readDatasetBoxes(home: string, id: number): DatasetBoxes | null {
  return readJsonOfFormat<DatasetBoxes>(
    path.join(datasetDir(home, id), 'boxes.json'),
    'selfemd-dataset-boxes/1',
  );
}

export function removeDatasetIndex(home: string, id: number): void {
  fs.rmSync(datasetDir(home, id), { recursive: true, force: true });
}

/** The deepest folder containing every file (absolute paths). */
export function commonFolder(files: readonly string[]): string {
  if (files.length === 0) throw new Error('commonFolder: no files');
  let parts = path.dirname(path.resolve(files[0]!)).split(path.sep);
  for (const f of files) {
    const p = path.dirname(path.resolve(f)).split(path.sep);
    let i = 0;
    while (i < parts.length && i < p.length && parts[i] === p[i]) i++;
    parts = parts.slice(0, i);
  }
  return parts.join(path.sep) || path.sep;
}

export function toPosixRelative(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}
