/**
 * From labelled images to what a detector consumes: the dataset in memory (images + boxes with
 * contiguous class indices), detectron2's ResizeShortestEdge geometry, horizontal flips, and the
 * padded, ImageNet-normalised NHWC batch (the normalisation the backbones were pretrained with).
 */
import * as tf from '@tensorflow/tfjs';
import { buffersPooledBySize } from '../backend/capabilities';
import { IMAGENET_MEAN, IMAGENET_STD } from '../data/augment-params';
import type { InstanceSegmentation } from '../data/masks/mask-types';
import { decodeSegmentation } from '../data/masks/segmentation';
import type { RawImage } from '../data/raw-image';
import type { CocoDataset } from '../eval/coco-types';
import { cocoToXyxy, type BoxArray } from './boxes';
import type { TrainTargets } from './detector';
import { hostInputBatch } from './host-input-batch';
import { placeMask, type PlacedMask } from './mask-rcnn/mask-targets';

export interface DetectionSample {
  /** The COCO image id (detections are reported with it). */
  imageId: number;
  image: RawImage;
  /** Size of the original image, (height, width): detections are reported in its coordinates. */
  originalSize: [number, number];
  /** Non-crowd objects, xyxy in the stored image's pixels. */
  boxes: BoxArray;
  /** Contiguous class index 0..K−1 per box. */
  classes: Int32Array;
  /**
   * Instance masks, one per box, as the annotations give them (the original image's pixels),
   * decoded when a batch needs them; absent when the dataset has none (null: this object has none).
   */
  segmentations?: (InstanceSegmentation | null)[];
}

export interface DetectionCategory {
  /** The dataset's category id. */
  id: number;
  name: string;
}

export interface DetectionDataset {
  samples: DetectionSample[];
  /** Sorted by id; class index k is categories[k]. */
  categories: DetectionCategory[];
  /** The ground truth as COCO, for evaluation (images in `samples` order). */
  coco: CocoDataset;
}

/**
 * Pairs decoded images with their COCO annotations. `images[i]` is `coco.images[i]`'s pixels, possibly
 * stored smaller than the original (whose size COCO's width / height give; boxes are scaled to the
 * stored pixels). Crowd regions do not train (detectron2 filters them) but stay in `coco` for evaluation.
 */
export function detectionDatasetFromCoco(images: RawImage[], coco: CocoDataset): DetectionDataset {
  if (images.length !== coco.images.length)
    throw new Error(
      `detection dataset: ${images.length} decoded images for ${coco.images.length} COCO images`,
    );
  const categories = coco.categories.map((c) => ({ id: c.id, name: c.name })).sort((a, b) => a.id - b.id);
  const classOf = new Map(categories.map((c, k) => [c.id, k]));
  const byImage = new Map<
    number,
    { boxes: number[]; classes: number[]; segmentations: (InstanceSegmentation | null)[] }
  >();
  for (const im of coco.images) byImage.set(im.id, { boxes: [], classes: [], segmentations: [] });
  const withMasks = coco.annotations.some((a) => !a.iscrowd && a.segmentation !== undefined);
  for (const a of coco.annotations) {
    if (a.iscrowd) continue;
    const entry = byImage.get(a.image_id);
    const k = classOf.get(a.category_id);
    if (!entry)
      throw new Error(`detection dataset: annotation ${a.id} refers to unknown image ${a.image_id}`);
    if (k === undefined)
      throw new Error(`detection dataset: annotation ${a.id} has unknown category ${a.category_id}`);
    if (!(a.bbox[2] > 0 && a.bbox[3] > 0)) continue;
    entry.boxes.push(...cocoToXyxy(a.bbox));
    entry.classes.push(k);
    entry.segmentations.push(a.segmentation ?? null);
  }
  const samples = coco.images.map((im, i) => {
    const image = images[i]!;
    const original: [number, number] = [im.height ?? image.height, im.width ?? image.width];
    const stored: [number, number] = [image.height, image.width];
    const e = byImage.get(im.id)!;
    const boxes = transformBoxes(Float32Array.from(e.boxes), original, stored, false);
    return {
      imageId: im.id,
      image,
      originalSize: original,
      boxes,
      classes: Int32Array.from(e.classes),
      ...(withMasks ? { segmentations: e.segmentations } : {}),
    };
  });
  return { samples, categories, coco };
}

/** detectron2's ResizeShortestEdge output shape: short side → `shortSide`, long side capped at `maxSize`. */
export function resizedShape(
  height: number,
  width: number,
  shortSide: number,
  maxSize: number,
): [number, number] {
  let scale = shortSide / Math.min(height, width);
  let h = height * scale;
  let w = width * scale;
  if (Math.max(h, w) > maxSize) {
    scale = maxSize / Math.max(h, w);
    h *= scale;
    w *= scale;
  }
  return [Math.floor(h + 0.5), Math.floor(w + 0.5)];
}

/** Boxes of an image resized from (h, w) to (nh, nw) and optionally mirrored: new array. */
export function transformBoxes(
  boxes: BoxArray,
  from: [number, number],
  to: [number, number],
  flip: boolean,
): BoxArray {
  const sx = to[1] / from[1];
  const sy = to[0] / from[0];
  const out = new Float32Array(boxes.length);
  for (let o = 0; o < boxes.length; o += 4) {
    const x1 = boxes[o]! * sx;
    const x2 = boxes[o + 2]! * sx;
    out[o] = flip ? to[1] - x2 : x1;
    out[o + 1] = boxes[o + 1]! * sy;
    out[o + 2] = flip ? to[1] - x1 : x2;
    out[o + 3] = boxes[o + 3]! * sy;
  }
  return out;
}

export interface InputBatch {
  /**
   * [N, H, W, 3], normalised, zero-padded at the bottom and right to a multiple of `divisibility`
   * (where the backend keeps a buffer per size, to a canvas of size-class sides: host-input-batch.ts).
   */
  images: tf.Tensor4D;
  /** (height, width) of each resized image inside the padded batch. */
  sizes: [number, number][];
}

/**
 * Resizes each image (bilinear, half-pixel centres) to `shapes[i]`, mirrors those with `flips[i]`,
 * normalises with ImageNet's mean and std, and pads all to the largest size rounded up to
 * `divisibility` (detectron2 pads the normalised images with 0 too). Where the backend keeps a
 * buffer per size (webgpu), the batch is built in JS on a bucketed canvas instead (host-input-batch.ts).
 */
export function makeInputBatch(
  images: RawImage[],
  shapes: [number, number][],
  flips: boolean[],
  divisibility = 32,
): InputBatch {
  const sizes = shapes.map((s): [number, number] => [s[0], s[1]]);
  if (buffersPooledBySize()) return { images: hostInputBatch(images, shapes, flips, divisibility), sizes };
  const maxH = Math.max(...shapes.map((s) => s[0]));
  const maxW = Math.max(...shapes.map((s) => s[1]));
  const H = Math.ceil(maxH / divisibility) * divisibility;
  const W = Math.ceil(maxW / divisibility) * divisibility;
  const tensor = tf.tidy(() => {
    const mean = tf.tensor1d(IMAGENET_MEAN as unknown as number[]);
    const std = tf.tensor1d(IMAGENET_STD as unknown as number[]);
    const each = images.map((im, i) => {
      const [h, w] = shapes[i]!;
      let x = tf.div(
        tf.tensor4d(im.data, [1, im.height, im.width, 3], 'int32').toFloat(),
        255,
      ) as tf.Tensor4D;
      if (h !== im.height || w !== im.width) x = tf.image.resizeBilinear(x, [h, w], false, true);
      if (flips[i]) x = tf.reverse(x, 2);
      x = tf.div(tf.sub(x, mean), std) as tf.Tensor4D;
      return tf.pad(x, [
        [0, 0],
        [0, H - h],
        [0, W - w],
        [0, 0],
      ]);
    });
    return each.length === 1 ? each[0]! : tf.concat(each, 0);
  });
  return { images: tensor, sizes };
}

/**
 * A training batch of `samples`: each resized to the short side `shortSide` (long side capped at
 * `maxSize`), mirrored where `flips` says, with its boxes moved along, and its instance masks
 * (when the dataset has them) decoded and placed in the batch (mask-rcnn/mask-targets.ts).
 */
export function makeTrainingBatch(
  samples: DetectionSample[],
  shortSide: number,
  maxSize: number,
  flips: boolean[],
  /** Decode the samples' masks into the targets: only a detector with a mask head reads them. */
  { masks = true }: { masks?: boolean } = {},
): { batch: InputBatch; targets: TrainTargets } {
  const shapes = samples.map((s) => resizedShape(s.image.height, s.image.width, shortSide, maxSize));
  const batch = makeInputBatch(
    samples.map((s) => s.image),
    shapes,
    flips,
  );
  const targets = {
    boxes: samples.map((s, j) =>
      transformBoxes(s.boxes, [s.image.height, s.image.width], shapes[j]!, flips[j]!),
    ),
    classes: samples.map((s) => s.classes),
    ...(masks && samples.some((s) => s.segmentations)
      ? { masks: samples.map((s, j) => placedMasks(s, shapes[j]!, flips[j]!)) }
      : {}),
  };
  return { batch, targets };
}

/** A sample's masks decoded at its original size and placed in a batch image of `shape`, mirrored when `flip`. */
function placedMasks(s: DetectionSample, shape: [number, number], flip: boolean): (PlacedMask | null)[] {
  const count = s.classes.length;
  if (!s.segmentations) return new Array<null>(count).fill(null);
  const [h, w] = s.originalSize;
  return s.segmentations.map((seg, i) => {
    if (!seg) return null;
    try {
      return placeMask(decodeSegmentation(seg, h, w), shape, flip);
    } catch (e) {
      throw new Error(`image ${s.imageId}, object ${i}: ${(e as Error).message}`);
    }
  });
}
