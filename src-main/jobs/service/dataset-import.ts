/**
 * Importing a dataset from a path the user picked or dropped: a plain image folder (for pretraining)
 * or COCO / VOC / YOLO (labelled). The dataset is recorded with its import report (every file left
 * out, and why), and its image list is indexed for thumbnails, the transport view and training.
 */
import { rmSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { ImportFormat, ImportPhase, CategoryCount } from '../../../shared/api/types';
import type { DatasetRecord, NewDataset, SkippedFile } from '../../../shared/dto';
import { scanImageFolderWithReport } from '../../engine/data/image-folder';
import { mapLimit, probeImage } from '../../engine/data/importers/image-probe';
import { cocoAnnotationFile } from '../../engine/data/importers/coco-importer';
import { detectDatasetFormat, importDataset } from '../../engine/data/importers/import-dataset';
import type { ImportProblem } from '../../engine/data/importers/labelled-dataset';
import type { ExperimentStore } from '../../store';
import {
  commonFolder,
  toPosixRelative,
  commitStagedDataset,
  stageDatasetFiles,
  type DatasetBoxes,
  type DatasetIndex,
  type IndexedImage,
} from './dataset-index';
import { failed } from './api-errors';
import { DiskFullError } from '../../engine/disk-write';

export type ImportProgress = (phase: ImportPhase, done: number, total: number, message: string) => void;

export interface ImportArgs {
  path: string;
  format?: ImportFormat;
  name?: string;
  /** COCO: the image folder, when it is not where the usual layouts put it; VOC: instead of JPEGImages/. */
  imageDir?: string;
  /** VOC: a list of ImageSets/Main (`train`, `val`, …); YOLO: a split of data.yaml. */
  split?: string;
}

async function kindOf(p: string): Promise<'file' | 'dir' | null> {
  try {
    const s = await stat(p);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : null;
  } catch {
    return null;
  }
}

/** Throttles progress to ~10 reports a second (a 10 000-file folder must not flood the renderer). */
function throttled(progress: ImportProgress): ImportProgress {
  let last = 0;
  return (phase, done, total, message) => {
    const now = Date.now();
    if (phase !== 'reading' || done === total || now - last >= 100) {
      last = now;
      progress(phase, done, total, message);
    }
  };
}

export async function importFromPath(
  home: string,
  store: ExperimentStore,
  args: ImportArgs,
  onProgress: ImportProgress,
): Promise<DatasetRecord> {
  const progress = throttled(onProgress);
  const source = path.resolve(args.path);
  const kind = await kindOf(source);
  if (!kind)
    throw failed(`${source} does not exist or cannot be read`, 'Check the path, or pick the folder again.');
  progress('scanning', 0, 0, `looking at ${source}`);
  let format = args.format ?? 'auto';
  if (format === 'auto') {
    const detected = await detectDatasetFormat(source);
    // An image folder given with an unrecognised path says the dataset is COCO (its JSON elsewhere).
    format = detected ?? (args.imageDir ? 'coco' : kind === 'dir' ? 'images' : 'auto');
  }
  if (format === 'auto')
    throw failed(
      `${source}: not a dataset the studio recognises`,
      'Pick a folder of images, a COCO .json file, a VOC folder (with Annotations/) or a YOLO folder (with data.yaml or labels/).',
    );
  if (args.imageDir && format !== 'coco' && format !== 'voc')
    throw failed(`an image folder can be given only for COCO and VOC datasets, not for ${format}`);
  const split = args.split?.trim() || undefined;
  if (split && format !== 'voc' && format !== 'yolo')
    throw failed(`a split can be chosen only for VOC and YOLO datasets, not for ${format}`);
  const name = uniqueDatasetName(
    store,
    args.name?.trim() || `${path.basename(source).replace(/\.json$/i, '')}${split ? ` (${split})` : ''}`,
  );
  // A COCO folder is recorded as its annotation file, which is what fine-tuning reads.
  let target = source;
  if (format === 'coco' && kind === 'dir') {
    try {
      target = await cocoAnnotationFile(source);
    } catch (e) {
      throw failed((e as Error).message, 'Import the annotation file itself, or a folder with one.');
    }
  }
  return format === 'images'
    ? importImageFolder(home, store, source, name, progress)
    : importLabelled(home, store, target, format, name, progress, {
        split,
        imageDir: args.imageDir === undefined ? undefined : path.resolve(args.imageDir),
      });
}

/**
 * The name itself when no dataset has it, else the name with the first free " (2)", " (3)", …: importing
 * the same folder again makes a copy the list tells apart from the first.
 */
export function uniqueDatasetName(store: ExperimentStore, name: string): string {
  const taken = new Set(store.listDatasets().map((d) => d.name));
  if (!taken.has(name)) return name;
  for (let k = 2; ; k++) if (!taken.has(`${name} (${k})`)) return `${name} (${k})`;
}

async function importImageFolder(
  home: string,
  store: ExperimentStore,
  dir: string,
  name: string,
  progress: ImportProgress,
): Promise<DatasetRecord> {
  let scan;
  try {
    scan = await scanImageFolderWithReport(dir);
  } catch (e) {
    throw failed((e as Error).message, 'Check the folder, or pick another one.');
  }
  const { files } = scan;
  if (files.length === 0)
    throw failed(
      `${dir} contains no image files` +
        (scan.skipped.length ? ` (${scan.skipped.length} sub-folder(s) could not be read)` : ''),
      'Image folders are searched recursively for .jpg, .png, .webp, .bmp and .tif files.',
    );
  progress('reading', 0, files.length, `${files.length} image files found`);
  let done = 0;
  const probes = await mapLimit(files, 4, async (rel) => {
    const probe = await probeImage(path.join(dir, rel));
    progress('reading', ++done, files.length, rel);
    return probe;
  });
  const images: IndexedImage[] = [];
  const skipped: SkippedFile[] = [...scan.skipped];
  probes.forEach((p, i) => {
    if (p.ok) images.push({ file: files[i]!, width: p.width, height: p.height, annotations: 0 });
    else skipped.push({ file: files[i]!, reason: p.reason });
  });
  if (images.length === 0)
    throw failed(
      `${dir}: none of the ${files.length} image files can be read (${skipped[scan.skipped.length]?.reason ?? ''})`,
    );
  progress('recording', files.length, files.length, 'recording the dataset');
  const record = recordDataset(
    home,
    store,
    dir,
    {
      name,
      kind: 'images',
      path: dir,
      imageCount: images.length,
      annotationCount: 0,
      categories: [],
      importReport: { skipped },
    },
    { format: 'selfemd-dataset-index/1', imageRoot: dir, images, categoryCounts: [], demo: null },
    null,
  );
  progress('done', files.length, files.length, `${images.length} images, ${skipped.length} skipped`);
  return record;
}

/**
 * Writes the dataset's index (and boxes) first, then records it, then moves the files in place: a
 * full disk or any failed write leaves neither a store row nor a folder behind, and the refusal
 * names the dataset and the folder that is full.
 */
function recordDataset(
  home: string,
  store: ExperimentStore,
  source: string,
  input: NewDataset,
  index: DatasetIndex,
  boxes: DatasetBoxes | null,
): DatasetRecord {
  let staging;
  try {
    staging = stageDatasetFiles(home, index, boxes);
  } catch (e) {
    // The datasets folder, not the hidden staging folder the write met it in (removed by now).
    if (e instanceof DiskFullError)
      throw failed(
        `could not import ${source}: the disk is full in ${path.join(home, 'datasets')} (the dataset's index needs ${e.bytesNeeded} bytes` +
          (e.bytesFree !== null ? `, ${e.bytesFree} free)` : ')'),
        'Free some space on that disk, then import again; nothing was recorded.',
      );
    throw e;
  }
  let record: DatasetRecord | undefined;
  try {
    record = store.createDataset(input);
    commitStagedDataset(home, staging, record.id);
    return record;
  } catch (e) {
    if (record) store.deleteDataset(record.id);
    throw e;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function describeProblem(p: ImportProblem, base: string): SkippedFile {
  // The line is left out where the problem already names it ("XML error at line 3, column 9").
  const lineSaid = p.line !== undefined && p.problem.includes(`line ${p.line}`);
  const where = [p.line !== undefined && !lineSaid ? `line ${p.line}` : '', p.jsonPath ?? '']
    .filter(Boolean)
    .join(', ');
  const rel = path.relative(base, p.file);
  return {
    file: rel && !rel.startsWith('..') ? rel.split(path.sep).join('/') : p.file,
    reason: where ? `${where}: ${p.problem}` : p.problem,
  };
}

async function importLabelled(
  home: string,
  store: ExperimentStore,
  source: string,
  format: 'coco' | 'voc' | 'yolo',
  name: string,
  progress: ImportProgress,
  importOptions: { split?: string; imageDir?: string },
): Promise<DatasetRecord> {
  progress('reading', 0, 0, `reading ${format.toUpperCase()} annotations`);
  let result;
  try {
    result = await importDataset(source, { format, ...importOptions });
  } catch (e) {
    // the importers throw only for what stops the whole import (a folder without an annotation
    // file, images nowhere to be found): their message names the paths
    throw failed((e as Error).message, 'Check the path, or give the image folder explicitly.');
  }
  const { dataset, report } = result;
  const base = (await kindOf(source)) === 'dir' ? source : path.dirname(source);
  if (dataset.images.length === 0) {
    // The annotation file itself is broken: that is the news, not the missing images.
    const own = report.find((p) => path.resolve(p.file) === source);
    if (own) throw failed(`${source}: ${own.problem}`, 'Fix the annotation file and import it again.');
    const first = report[0];
    const where = first
      ? `${path.relative(base, first.file) || path.basename(first.file)}: ${first.problem}`
      : 'none';
    throw failed(
      `${source}: no usable images (${report.length} problem(s); first: ${where})`,
      'Check that the image files are where the annotations say they are.',
    );
  }
  progress('recording', dataset.images.length, dataset.images.length, 'recording the dataset');
  const imageRoot = commonFolder(dataset.images.map((im) => im.file));
  const perImage = new Map<number, number>();
  const perCategory = new Map<number, { count: number; images: Set<number> }>();
  for (const a of dataset.annotations) {
    perImage.set(a.imageId, (perImage.get(a.imageId) ?? 0) + 1);
    const c = perCategory.get(a.categoryId) ?? { count: 0, images: new Set<number>() };
    c.count++;
    c.images.add(a.imageId);
    perCategory.set(a.categoryId, c);
  }
  const categoryCounts: CategoryCount[] = dataset.categories.map((c) => ({
    id: c.id,
    name: c.name,
    count: perCategory.get(c.id)?.count ?? 0,
    images: perCategory.get(c.id)?.images.size ?? 0,
  }));
  const index: DatasetIndex = {
    format: 'selfemd-dataset-index/1',
    imageRoot,
    images: dataset.images.map((im) => ({
      file: toPosixRelative(imageRoot, im.file),
      width: im.width,
      height: im.height,
      annotations: perImage.get(im.id) ?? 0,
    })),
    categoryCounts,
    demo: null,
    importOptions,
  };
  const boxesOf = new Map(dataset.images.map((im) => [im.id, [] as DatasetBoxes['images'][number]]));
  for (const a of dataset.annotations)
    boxesOf.get(a.imageId)?.push([...a.bbox, a.categoryId, a.clipped ? 1 : 0]);
  const record = recordDataset(
    home,
    store,
    source,
    {
      name,
      kind: format,
      path: source,
      imageCount: dataset.images.length,
      annotationCount: dataset.annotations.length,
      categories: dataset.categories.map((c) => ({ id: c.id, name: c.name })),
      importReport: { skipped: report.map((p) => describeProblem(p, base)) },
      split: importOptions.split ?? null,
    },
    index,
    { format: 'selfemd-dataset-boxes/1', images: dataset.images.map((im) => boxesOf.get(im.id)!) },
  );
  progress(
    'done',
    dataset.images.length,
    dataset.images.length,
    `${dataset.images.length} images, ${dataset.annotations.length} objects, ${report.length} report entries`,
  );
  return record;
}
