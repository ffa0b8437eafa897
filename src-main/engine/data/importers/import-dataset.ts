/**
 * One entry point for the three formats: picks the importer from `format` or from what the path
 * looks like (a .json file: COCO; Annotations/: VOC; data.yaml, classes.txt or labels/: YOLO; a
 * folder holding COCO annotation files, found by content (coco-layout.ts): COCO).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { importCoco } from './coco-importer';
import { findCocoAnnotationFiles } from './coco-layout';
import type { ImportResult } from './labelled-dataset';
import { importVoc } from './voc-importer';
import { importYolo } from './yolo-importer';

export type DatasetFormat = 'coco' | 'voc' | 'yolo';

export interface ImportDatasetOptions {
  format?: DatasetFormat;
  split?: string;
  /** COCO: folder of the images (default: found from the usual layouts, coco-layout.ts); VOC: instead of JPEGImages/. */
  imageDir?: string;
  /** VOC: fixed class list. */
  classes?: string[];
  concurrency?: number;
}

async function exists(p: string, kind: 'file' | 'dir'): Promise<boolean> {
  try {
    const s = await stat(p);
    return kind === 'file' ? s.isFile() : s.isDirectory();
  } catch {
    return false;
  }
}

export async function detectDatasetFormat(p: string): Promise<DatasetFormat | null> {
  const abs = path.resolve(p);
  if ((await exists(abs, 'file')) && abs.toLowerCase().endsWith('.json')) return 'coco';
  if (!(await exists(abs, 'dir'))) return null;
  if (await exists(path.join(abs, 'Annotations'), 'dir')) return 'voc';
  for (const f of ['data.yaml', 'data.yml', 'dataset.yaml', 'classes.txt'])
    if (await exists(path.join(abs, f), 'file')) return 'yolo';
  if (await exists(path.join(abs, 'labels'), 'dir')) return 'yolo';
  if ((await findCocoAnnotationFiles(abs)).length > 0) return 'coco';
  return null;
}

export async function importDataset(p: string, opts: ImportDatasetOptions = {}): Promise<ImportResult> {
  const format = opts.format ?? (await detectDatasetFormat(p));
  const { concurrency } = opts;
  switch (format) {
    case 'coco':
      return importCoco(p, { imageDir: opts.imageDir, concurrency });
    case 'voc':
      return importVoc(p, { split: opts.split, imageDir: opts.imageDir, classes: opts.classes, concurrency });
    case 'yolo':
      return importYolo(p, { split: opts.split, concurrency });
    default:
      throw new Error(
        `${path.resolve(p)}: not a recognisable dataset (expected a COCO .json file, a VOC folder with Annotations/, or a YOLO folder with data.yaml or labels/)`,
      );
  }
}
