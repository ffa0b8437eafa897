/**
 * The one in-memory shape every importer produces: COCO-like, camelCase, boxes [x, y, w, h] in pixels
 * with continuous coordinates ((0, 0) is the top-left corner of the top-left pixel), always inside
 * the image and with positive size. `report` lists what was wrong with the input and what was done
 * about it (the entry skipped, or fixed as said).
 */
import type { InstanceSegmentation } from '../masks/mask-types';

export interface LabelledImage {
  id: number;
  /** Absolute path of the image file. */
  file: string;
  /** Pixel size after EXIF orientation (what a viewer and the decoder show). */
  width: number;
  height: number;
}

export interface LabelledAnnotation {
  id: number;
  imageId: number;
  categoryId: number;
  bbox: [number, number, number, number];
  /** The object's mask area when it has a mask (COCO: the file's `area`), else w*h of the box. */
  area: number;
  /**
   * The object's instance mask when the file has a usable one: COCO polygons or RLE as in the file,
   * YOLO segment lines as polygons in pixels, VOC SegmentationObject PNGs as compressed RLE. A mask
   * the importer could not use is reported and left out; the box stays.
   */
  segmentation?: InstanceSegmentation;
  iscrowd: 0 | 1;
  /** Pascal VOC's "difficult" flag (absent for formats without it). */
  difficult?: boolean;
  /** Set when the file's box reached outside the image and was clipped to it (the report says so). */
  clipped?: true;
}

export interface LabelledCategory {
  id: number;
  name: string;
}

export interface LabelledDataset {
  images: LabelledImage[];
  annotations: LabelledAnnotation[];
  categories: LabelledCategory[];
}

export interface ImportProblem {
  /** The file the problem is in (absolute path). */
  file: string;
  /** What is wrong and what the importer did ("skipped", "clipped to the image", ...). */
  problem: string;
  /** 1-based line, for text formats (XML, YOLO labels, YAML, JSON syntax errors). */
  line?: number;
  /** JSONPath of the offending entry, e.g. `$.annotations[12].bbox`. */
  jsonPath?: string;
}

export interface ImportResult {
  dataset: LabelledDataset;
  report: ImportProblem[];
}
