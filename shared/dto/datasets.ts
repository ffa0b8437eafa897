/**
 * Datasets as the experiment store records them. Times are Unix epoch milliseconds.
 * `kind` is the format the files were imported from; `demo` is the built-in scene generator (no path).
 */
export const DATASET_KINDS = ['images', 'coco', 'voc', 'yolo', 'demo'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

export interface DatasetCategory {
  id: number;
  name: string;
}

/** A file the importer left out, and why (shown to the user next to the dataset). */
export interface SkippedFile {
  file: string;
  reason: string;
}

export interface ImportReport {
  skipped: SkippedFile[];
}

export interface DatasetRecord {
  id: number;
  name: string;
  kind: DatasetKind;
  /** Folder or annotation file the dataset was imported from; null only for `demo`. */
  path: string | null;
  createdAt: number;
  imageCount: number;
  annotationCount: number;
  categories: DatasetCategory[];
  importReport: ImportReport;
  /** Which split of the source this is (`train`, `val2017`, ...); null when the source has no splits. */
  split: string | null;
}

export interface NewDataset {
  name: string;
  kind: DatasetKind;
  path?: string | null;
  imageCount: number;
  annotationCount?: number;
  categories?: DatasetCategory[];
  importReport?: ImportReport;
  split?: string | null;
}
