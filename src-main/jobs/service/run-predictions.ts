/**
 * The prediction preview of a fine-tune run: a val image with the detections its last evaluation
 * wrote beside the run (val_detections.json, COCO results; val_gt.json names the images), so the
 * studio shows what the detector found without running it again. The pixels come from the run's
 * val dataset. A mask detector's masks (COCO RLE in the image's pixels) are scaled to the preview's
 * size and sent as uncompressed RLE counts: small, and drawn by the renderer without a decoder for
 * pycocotools' compressed strings.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PredictedInstance, RunPredictionView } from '../../../shared/api/types';
import type { BinaryMask } from '../../engine/data/masks/mask-types';
import { encodeMask } from '../../engine/data/masks/rle';
import { decodeSegmentation } from '../../engine/data/masks/segmentation';
import type { CocoDataset, CocoDetection } from '../../engine/eval/coco-types';
import type { ExperimentStore } from '../../store';
import { conflict, failed, notFound } from './api-errors';
import { readDatasetIndex, type DatasetIndex } from './dataset-index';
import { preview, previewShape, sourceFromIndex } from './image-source';

/** The most detections one preview draws (a detector keeps up to 100 an image; the rest is clutter). */
export const MAX_PREVIEW_DETECTIONS = 50;

export interface PredictionRequest {
  runId: string;
  index: number;
  size?: number;
  minScore?: number;
}

function readJson<T>(file: string, what: string): T {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw notFound(
        `${path.basename(file)} is not there: the run has not been evaluated on its val set yet`,
      );
    throw failed(`${file}: cannot read the ${what}: ${(e as Error).message}`);
  }
}

/** Nearest-neighbour scaling of a mask to `height` × `width` (pixel centres map to pixel centres). */
export function scaleMask(mask: BinaryMask, height: number, width: number): BinaryMask {
  const data = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(mask.height - 1, Math.floor(((y + 0.5) * mask.height) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(mask.width - 1, Math.floor(((x + 0.5) * mask.width) / width));
      data[y * width + x] = mask.data[sy * mask.width + sx]!;
    }
  }
  return { height, width, data };
}

/** The dataset index's image that is val image `k` of the evaluation: by file name, else by position. */
function datasetImage(
  index: DatasetIndex,
  gt: CocoDataset,
  k: number,
  image: { name: string; width: number; height: number },
): number {
  const byName = index.images.findIndex((im) => im.file === image.name);
  if (byName >= 0) return byName;
  // one import, read twice in the same order (the fine-tune reads the dataset's source again)
  const same = index.images[k];
  if (
    index.images.length === gt.images.length &&
    same &&
    same.width === image.width &&
    same.height === image.height
  )
    return k;
  throw failed(
    `val image "${image.name}" of the evaluation is not in the run's val dataset`,
    'Was the dataset imported again since? Fine-tune the run again to preview it.',
  );
}

export async function runPredictions(
  store: ExperimentStore,
  home: string,
  trainingDir: string,
  req: PredictionRequest,
): Promise<RunPredictionView> {
  const run = store.getRun(req.runId);
  if (run.kind !== 'finetune')
    throw conflict(`"${run.name}" is not a detector: it has no predictions to show`);
  if (run.datasetId === null) throw notFound(`"${run.name}" records no val dataset to show its images from`);
  const gt = readJson<CocoDataset>(path.join(trainingDir, 'val_gt.json'), 'val ground truth');
  const results = readJson<CocoDetection[]>(path.join(trainingDir, 'val_detections.json'), 'val detections');
  const entry = gt.images[req.index];
  if (!entry)
    throw notFound(`val image ${req.index} does not exist (the evaluation scored ${gt.images.length})`);
  const { file_name: name, width, height } = entry;
  if (name === undefined || width === undefined || height === undefined)
    throw failed(`val_gt.json: image ${entry.id} has no file_name, width or height`);
  const image = { id: entry.id, name, width, height };
  const dataset = store.getDataset(run.datasetId);
  const index = readDatasetIndex(home, dataset.id);
  if (!index) throw failed(`dataset "${dataset.name}" has no image index`, 'Import it again.');
  const k = datasetImage(index, gt, req.index, image);
  const size = req.size ?? 640;

  const names = new Map(gt.categories.map((c) => [c.id, c.name]));
  const mine = results
    .filter((d) => d.image_id === image.id && d.score >= (req.minScore ?? 0))
    .sort((a, b) => b.score - a.score)
    .slice(0, MAX_PREVIEW_DETECTIONS);
  const masks = results.length > 0 && results.every((d) => d.segmentation);
  const [ph, pw] = previewShape(image.width, image.height, size);
  const detections = mine.map((d): PredictedInstance => {
    const out: PredictedInstance = {
      bbox: d.bbox,
      categoryId: d.category_id,
      category: names.get(d.category_id) ?? String(d.category_id),
      score: d.score,
    };
    if (masks && d.segmentation) {
      let mask: BinaryMask;
      try {
        mask = decodeSegmentation(d.segmentation, image.height, image.width);
      } catch (e) {
        throw failed(`val_detections.json, a mask on image ${image.id}: ${(e as Error).message}`);
      }
      out.maskCounts = encodeMask(scaleMask(mask, ph, pw)).counts;
    }
    return out;
  });

  const evaluated = store
    .listEvaluations(run.id)
    .filter((e) => e.kind === 'coco')
    .at(-1);
  return {
    index: req.index,
    name: image.name,
    width: image.width,
    height: image.height,
    annotations: gt.annotations.filter((a) => a.image_id === image.id).length,
    dataUrl: await preview(sourceFromIndex(index), k, size, image),
    total: gt.images.length,
    step: evaluated?.checkpointStep ?? null,
    maskSize: masks ? [ph, pw] : null,
    detections,
  };
}
