/**
 * A val set drawn again with replacement, for the study's bootstrap over images: the COCO ground
 * truth and the detections of the drawn images, each draw a new image (a new id, its annotations
 * copied with new ids), so an image drawn twice counts twice — as two images with the same objects
 * and detections would. Scored by the one COCO / VOC evaluator (engine/detection/evaluate.ts).
 */
import type { CocoAnnotation, CocoDataset, CocoDetection } from './coco-types';

export class CocoResampler {
  private readonly annotations: CocoAnnotation[][];
  private readonly detections: CocoDetection[][];

  /** Image `i` of a draw is `gt.images[i]`. */
  constructor(
    private readonly gt: CocoDataset,
    dets: readonly CocoDetection[],
  ) {
    const index = new Map(gt.images.map((im, i) => [im.id, i]));
    this.annotations = gt.images.map(() => []);
    this.detections = gt.images.map(() => []);
    for (const a of gt.annotations) {
      const i = index.get(a.image_id);
      if (i !== undefined) this.annotations[i]!.push(a);
    }
    for (const d of dets) {
      const i = index.get(d.image_id);
      if (i !== undefined) this.detections[i]!.push(d);
    }
  }

  get imageCount(): number {
    return this.gt.images.length;
  }

  /** Index of each image id in the set (a draw names images by index). */
  imageIndex(): Map<number, number> {
    return new Map(this.gt.images.map((im, i) => [im.id, i]));
  }

  /** The ground truth and detections of the images `draw` names (indices, repeats allowed). */
  draw(draw: ArrayLike<number>): { gt: CocoDataset; dets: CocoDetection[] } {
    const images: CocoDataset['images'] = [];
    const annotations: CocoAnnotation[] = [];
    const dets: CocoDetection[] = [];
    for (let j = 0; j < draw.length; j++) {
      const i = draw[j]!;
      const source = this.gt.images[i];
      if (!source) throw new Error(`resample: image index ${i} is outside the ${this.imageCount} val images`);
      const id = j + 1;
      images.push({ ...source, id });
      // ids from 1: pycocotools never counts a gt of id 0 as matched
      for (const a of this.annotations[i]!)
        annotations.push({ ...a, id: annotations.length + 1, image_id: id });
      for (const d of this.detections[i]!) dets.push({ ...d, image_id: id });
    }
    return { gt: { images, annotations, categories: this.gt.categories }, dets };
  }
}
