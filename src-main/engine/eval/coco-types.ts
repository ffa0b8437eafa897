/**
 * The COCO "instances" JSON shapes as the evaluator reads them (snake_case, as in the files), and
 * the detection-result entries of a COCO results file. Boxes are [x, y, w, h] in pixels, continuous
 * coordinates (the top-left corner of the image is (0, 0)).
 */
import type { CocoRle, InstanceSegmentation } from '../data/masks/mask-types';

export type CocoBox = [number, number, number, number];

export interface CocoImage {
  id: number;
  file_name?: string;
  width?: number;
  height?: number;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: CocoBox;
  /** Object area (the segmentation's area in real COCO); the evaluator buckets objects by it. */
  area: number;
  /** 1 for a crowd region; pycocotools treats a missing field as 0 here (it would fail instead). */
  iscrowd?: number;
  /** Polygons or RLE; required by the segm evaluation, unused by bbox. */
  segmentation?: InstanceSegmentation;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
}

export interface CocoDataset {
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

/** One entry of a COCO results file. */
export interface CocoDetection {
  image_id: number;
  category_id: number;
  bbox: CocoBox;
  score: number;
  /** The detected mask (COCO results format: RLE, counts a compressed string), for segm evaluation. */
  segmentation?: CocoRle;
}
