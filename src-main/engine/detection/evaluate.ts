/**
 * Running a detector over a dataset at test size and scoring it: detections are mapped back to
 * each image's original pixels and written as COCO results, then evaluated with the COCO protocol
 * (the 12 stats, pycocotools' numbers) and VOC's per-class AP at IoU 0.5.
 */
import type { FinetuneConfig } from '../../../shared/config/finetune';
import { detectionWithMask } from '../eval/coco-detections';
import type { CocoDetection } from '../eval/coco-types';
import { evaluateCoco, type CocoCategoryResult, type CocoEvalOptions } from '../eval/cocoeval';
import { vocEvalCoco } from '../eval/voc';
import type { Detections, Detector } from './detector';
import { pasteMask } from './mask-rcnn/paste-masks';
import {
  makeInputBatch,
  resizedShape,
  type DetectionCategory,
  type DetectionDataset,
  type DetectionSample,
} from './inputs';

export interface DetectionEvaluation {
  /** COCOeval.summarize()'s 12 numbers. */
  stats: number[];
  perCategory: Record<string, CocoCategoryResult & { name: string }>;
  /** VOC (area) AP at IoU 0.5 per category name, and its mean. */
  voc: { mAP: number; perClass: Record<string, number> };
  /** Mask detectors: COCO's segm evaluation of the detections' masks (the same 12 stats). */
  segm?: { stats: number[]; perCategory: Record<string, CocoCategoryResult & { name: string }> };
  detections: CocoDetection[];
}

/** Detections of `samples` in their original pixels, as COCO results. */
export async function detectSamples(
  detector: Detector,
  samples: DetectionSample[],
  categories: DetectionCategory[],
  test: { minSize: number; maxSize: number; batchSize?: number },
): Promise<{ results: CocoDetection[]; perImage: Detections[] }> {
  const results: CocoDetection[] = [];
  const perImage: Detections[] = [];
  const bs = test.batchSize ?? 4;
  for (let i = 0; i < samples.length; i += bs) {
    const chunk = samples.slice(i, i + bs);
    const shapes = chunk.map((s) => resizedShape(s.image.height, s.image.width, test.minSize, test.maxSize));
    const batch = makeInputBatch(
      chunk.map((s) => s.image),
      shapes,
      chunk.map(() => false),
    );
    let dets: Detections[];
    try {
      dets = await detector.predict(batch.images, batch.sizes);
    } finally {
      batch.images.dispose();
    }
    dets.forEach((d, j) => {
      const s = chunk[j]!;
      const sx = s.originalSize[1] / shapes[j]![1];
      const sy = s.originalSize[0] / shapes[j]![0];
      const boxes = new Float32Array(d.boxes.length);
      for (let o = 0; o < d.boxes.length; o += 4) {
        boxes[o] = d.boxes[o]! * sx;
        boxes[o + 1] = d.boxes[o + 1]! * sy;
        boxes[o + 2] = d.boxes[o + 2]! * sx;
        boxes[o + 3] = d.boxes[o + 3]! * sy;
      }
      perImage.push({ ...d, boxes });
      const [height, width] = s.originalSize;
      for (let k = 0; k < d.scores.length; k++) {
        const [x1, y1, x2, y2] = [boxes[k * 4]!, boxes[k * 4 + 1]!, boxes[k * 4 + 2]!, boxes[k * 4 + 3]!];
        const M = d.maskSize ?? 0;
        const entry: CocoDetection = {
          image_id: s.imageId,
          category_id: categories[d.classes[k]!]!.id,
          // Rounded like detectron2's COCO exporter writes them (json floats), enough for any IoU.
          bbox: [round(x1), round(y1), round(x2 - x1), round(y2 - y1)],
          score: round(d.scores[k]!, 5),
        };
        // Mask detectors: pasted into the original image, as detectron2's instances_to_coco_json.
        results.push(
          d.maskProbs
            ? detectionWithMask(
                entry,
                pasteMask(d.maskProbs, k * M * M, M, boxes.subarray(k * 4, k * 4 + 4), height, width),
              )
            : entry,
        );
      }
    });
  }
  return { results, perImage };
}

function round(v: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export async function evaluateDetector(
  detector: Detector,
  dataset: DetectionDataset,
  config: FinetuneConfig,
): Promise<DetectionEvaluation> {
  const { results } = await detectSamples(detector, dataset.samples, dataset.categories, {
    minSize: config.data.minSizeTest,
    maxSize: config.data.maxSizeTest,
  });
  return scoreDetections(dataset, results);
}

/** The first `count` samples of a dataset, with the ground truth of just those images (quick AP). */
export function datasetHead(dataset: DetectionDataset, count: number): DetectionDataset {
  if (count >= dataset.samples.length) return dataset;
  const samples = dataset.samples.slice(0, count);
  const ids = new Set(samples.map((s) => s.imageId));
  return {
    samples,
    categories: dataset.categories,
    coco: {
      ...dataset.coco,
      images: dataset.coco.images.filter((im) => ids.has(im.id)),
      annotations: dataset.coco.annotations.filter((a) => ids.has(a.image_id)),
    },
  };
}

export function scoreDetections(
  dataset: Pick<DetectionDataset, 'coco'>,
  detections: CocoDetection[],
  /**
   * iouType 'segm' scores the detections' masks (`segmentation`); VOC AP50 stays box-based. `segm`:
   * whether a box evaluation also scores the masks (default: when every detection has one); a
   * study's box-only bootstrap says false.
   */
  options: Pick<CocoEvalOptions, 'lastMaxDetOnly' | 'iouType' | 'dtAreaFromBox'> & { segm?: boolean } = {},
): DetectionEvaluation {
  const { segm: withSegm, ...cocoOptions } = options;
  const coco = evaluateCoco(dataset.coco, detections, cocoOptions);
  const names = new Map(dataset.coco.categories.map((c) => [c.id, c.name]));
  const named = (perCategory: Record<string, CocoCategoryResult>) =>
    Object.fromEntries(
      Object.entries(perCategory).map(([id, r]) => [id, { ...r, name: names.get(Number(id)) ?? id }]),
    );
  const voc = vocEvalCoco(dataset.coco, detections);
  // A box evaluation scores the masks too when the detector gave them (every detection has one, or
  // none has), with the masks' own area as detectron2 does (it drops the boxes for segm).
  const segm =
    (cocoOptions.iouType ?? 'bbox') === 'bbox' &&
    (withSegm ?? (detections.length > 0 && detections.every((d) => d.segmentation)))
      ? evaluateCoco(dataset.coco, detections, { ...cocoOptions, iouType: 'segm', dtAreaFromBox: false })
      : undefined;
  return {
    stats: coco.stats,
    perCategory: named(coco.perCategory),
    ...(segm ? { segm: { stats: segm.stats, perCategory: named(segm.perCategory) } } : {}),
    voc: {
      mAP: voc.mAP,
      perClass: Object.fromEntries(Object.entries(voc.perClass).map(([k, v]) => [k, v.ap])),
    },
    detections,
  };
}
