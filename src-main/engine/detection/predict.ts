/**
 * Using a fine-tuned detector: rebuild it from a run's newest checkpoint (its config and label set
 * travel in the checkpoint), detect objects in images at the run's test size, and draw them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import type { FinetuneConfig } from '../../../shared/config/finetune';
import type { CocoRle } from '../data/masks/mask-types';
import { decodeSegmentation } from '../data/masks/segmentation';
import type { RawImage } from '../data/raw-image';
import { createBackbone } from '../models/registry';
import { listCheckpoints, loadCheckpoint } from '../train/checkpoint';
import type { Detector } from './detector';
import { detectSamples } from './evaluate';
import { FINETUNE_CHECKPOINT_KIND, restoreDetector, type FinetuneState } from './finetune';
import type { DetectionCategory } from './inputs';
import { createDetector } from './registry';

export interface LoadedDetector {
  detector: Detector;
  config: FinetuneConfig;
  categories: DetectionCategory[];
  checkpointDir: string;
  step: number;
}

/** A run folder, its checkpoints/ folder or one checkpoint folder → the detector it holds. */
export function loadFinetunedDetector(p: string): LoadedDetector {
  let dir = p;
  if (!fs.existsSync(path.join(p, 'manifest.json'))) {
    const root = fs.existsSync(path.join(p, 'checkpoints')) ? path.join(p, 'checkpoints') : p;
    const latest = listCheckpoints(root).at(-1);
    if (!latest) throw new Error(`${p}: no fine-tuning checkpoint found`);
    dir = latest.dir;
  }
  const loaded = loadCheckpoint<FinetuneState>(dir);
  if (loaded.state.kind !== FINETUNE_CHECKPOINT_KIND)
    throw new Error(`${dir}: not a fine-tuning checkpoint (a pretraining run? fine-tune it first)`);
  const { config, categories } = loaded.state;
  const backbone = createBackbone(config.backbone.name, {
    baseWidth: config.backbone.baseWidth,
    seed: config.seed,
  });
  const detector = createDetector(config, backbone, categories.length);
  try {
    restoreDetector(detector, loaded);
  } catch (e) {
    detector.dispose();
    throw e;
  }
  return { detector, config, categories, checkpointDir: dir, step: loaded.state.step };
}

export interface PredictedBox {
  /** COCO [x, y, w, h] in the image's pixels. */
  bbox: [number, number, number, number];
  score: number;
  category_id: number;
  category: string;
  /** Mask detectors: the object's mask in the image (COCO RLE, compressed counts). */
  segmentation?: CocoRle;
}

export async function predictImage(
  model: LoadedDetector,
  image: RawImage,
  minScore = 0,
): Promise<PredictedBox[]> {
  const { results } = await detectSamples(
    model.detector,
    [
      {
        imageId: 0,
        image,
        originalSize: [image.height, image.width],
        boxes: new Float32Array(0),
        classes: new Int32Array(0),
      },
    ],
    model.categories,
    { minSize: model.config.data.minSizeTest, maxSize: model.config.data.maxSizeTest },
  );
  const names = new Map(model.categories.map((c) => [c.id, c.name]));
  return results
    .filter((r) => r.score >= minScore)
    .map((r) => ({
      bbox: r.bbox,
      score: r.score,
      category_id: r.category_id,
      category: names.get(r.category_id) ?? String(r.category_id),
      ...(r.segmentation ? { segmentation: r.segmentation } : {}),
    }));
}

/** A distinct, saturated colour per category index (golden-angle hues). */
function colour(k: number): [number, number, number] {
  const h = (k * 0.381966) % 1;
  const f = (n: number) => {
    const x = (n + h * 6) % 6;
    return Math.round(255 * (1 - Math.max(0, Math.min(x, 4 - x, 1))));
  };
  return [f(5), f(3), f(1)];
}

/**
 * A copy of the image with each box outlined (2 px) in its category's colour, and each mask (mask
 * detectors) tinted half-way to that colour.
 */
export function drawBoxes(image: RawImage, boxes: PredictedBox[], categories: DetectionCategory[]): RawImage {
  const data = new Uint8Array(image.data);
  const index = new Map(categories.map((c, k) => [c.id, k]));
  // Masks first, lowest score first: the boxes stay on top and the best mask shows where masks overlap.
  for (const b of [...boxes].sort((p, q) => p.score - q.score)) {
    if (!b.segmentation) continue;
    const c = colour(index.get(b.category_id) ?? 0);
    const mask = decodeSegmentation(b.segmentation, image.height, image.width);
    for (let p = 0; p < mask.data.length; p++)
      if (mask.data[p]) for (let ch = 0; ch < 3; ch++) data[p * 3 + ch] = (data[p * 3 + ch]! + c[ch]!) >> 1;
  }
  const put = (x: number, y: number, c: [number, number, number]) => {
    if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
    data.set(c, (y * image.width + x) * 3);
  };
  for (const b of boxes) {
    const c = colour(index.get(b.category_id) ?? 0);
    const x0 = Math.round(b.bbox[0]);
    const y0 = Math.round(b.bbox[1]);
    const x1 = Math.round(b.bbox[0] + b.bbox[2]) - 1;
    const y1 = Math.round(b.bbox[1] + b.bbox[3]) - 1;
    for (let t = 0; t < 2; t++) {
      for (let x = x0; x <= x1; x++) {
        put(x, y0 + t, c);
        put(x, y1 - t, c);
      }
      for (let y = y0; y <= y1; y++) {
        put(x0 + t, y, c);
        put(x1 - t, y, c);
      }
    }
  }
  return { ...image, data };
}

export async function writePng(file: string, image: RawImage): Promise<void> {
  await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toFile(file);
}
