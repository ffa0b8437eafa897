/**
 * LabelledDataset -> COCO instances JSON object (JSON.stringify it to write a file). Pascal VOC's
 * `difficult` has no COCO field: by default a difficult object becomes a crowd region (iscrowd 1),
 * which is what mmdetection's VOC -> COCO conversion does and makes COCOeval ignore detections of it,
 * as VOC's own evaluation does.
 */
import path from 'node:path';
import type { CocoDataset } from '../../eval/coco-types';
import type { LabelledDataset } from './labelled-dataset';

export interface ToCocoJsonOptions {
  /** Write file_name relative to this folder (POSIX separators). Default: the absolute path. */
  relativeTo?: string;
  /** 'crowd' (default): difficult -> iscrowd 1; 'keep': an ordinary object; 'drop': left out. */
  difficult?: 'crowd' | 'keep' | 'drop';
}

export function toCocoJson(ds: LabelledDataset, opts: ToCocoJsonOptions = {}): CocoDataset {
  const mode = opts.difficult ?? 'crowd';
  const rel = opts.relativeTo === undefined ? null : path.resolve(opts.relativeTo);
  return {
    images: ds.images.map((im) => ({
      id: im.id,
      file_name: rel === null ? im.file : path.relative(rel, im.file).split(path.sep).join('/'),
      width: im.width,
      height: im.height,
    })),
    annotations: ds.annotations
      .filter((a) => !(a.difficult && mode === 'drop'))
      .map((a) => ({
        id: a.id,
        image_id: a.imageId,
        category_id: a.categoryId,
        bbox: [a.bbox[0], a.bbox[1], a.bbox[2], a.bbox[3]],
        area: a.area,
        iscrowd: a.iscrowd === 1 || (a.difficult === true && mode === 'crowd') ? 1 : 0,
        ...(a.segmentation ? { segmentation: a.segmentation } : {}),
      })),
    categories: ds.categories.map((c) => ({ id: c.id, name: c.name })),
  };
}
