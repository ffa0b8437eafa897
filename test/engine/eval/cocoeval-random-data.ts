/**
 * Seeded random COCO ground truth and detections for the pycocotools cross-check: a few hundred gt
 * boxes with crowd regions, gt areas that differ from w*h, boxes on the 32² / 96² boundaries, score
 * ties, an image with more than 100 detections, a category without gt, images without gts or without
 * dets, and (seed 3) a gt with id 0 and a reused gt id.
 */
import type {
  CocoAnnotation,
  CocoBox,
  CocoDataset,
  CocoDetection,
} from '../../../src-main/engine/eval/coco-types';
import { rng as mulberry32 } from '../ssl/reference';

export function makeData(seed: number): { gt: CocoDataset; dets: CocoDetection[] } {
  const rnd = mulberry32(seed);
  const W = 640;
  const H = 480;
  const images = Array.from({ length: 50 }, (_, i) => ({
    id: 100 + i * 3,
    file_name: `${i}.jpg`,
    width: W,
    height: H,
  }));
  const categories = [
    { id: 1, name: 'cat' },
    { id: 3, name: 'dog' },
    { id: 7, name: 'bird' },
    { id: 9, name: 'never-labelled' },
  ];
  const annotations: CocoAnnotation[] = [];
  const dets: CocoDetection[] = [];
  let annId = 1;
  const randBox = (): CocoBox => {
    // log-uniform sizes so that small, medium and large objects all occur
    const w = Math.round(Math.exp(Math.log(6) + rnd() * Math.log(300 / 6)) * 10) / 10;
    const h = Math.round(Math.exp(Math.log(6) + rnd() * Math.log(300 / 6)) * 10) / 10;
    return [Math.round(rnd() * (W - w) * 10) / 10, Math.round(rnd() * (H - h) * 10) / 10, w, h];
  };
  const jitter = (b: CocoBox, s: number): CocoBox => [
    b[0] + (rnd() - 0.5) * s * b[2],
    b[1] + (rnd() - 0.5) * s * b[3],
    b[2] * (1 + (rnd() - 0.5) * s),
    b[3] * (1 + (rnd() - 0.5) * s),
  ];
  for (const [n, im] of images.entries()) {
    if (n % 10 === 9) continue; // images without any gt (dets still come below)
    for (const cat of categories.slice(0, 3)) {
      const count = Math.floor(rnd() * 5);
      for (let j = 0; j < count; j++) {
        let bbox = randBox();
        if (rnd() < 0.06) bbox = [bbox[0], bbox[1], 32, 32]; // area exactly 32²
        if (rnd() < 0.06) bbox = [bbox[0], bbox[1], 96, 96]; // area exactly 96²
        const crowd = rnd() < 0.07 ? 1 : 0;
        // segmentation-like area smaller than the box for some objects
        const area = rnd() < 0.3 ? bbox[2] * bbox[3] * (0.5 + 0.5 * rnd()) : bbox[2] * bbox[3];
        annotations.push({ id: annId++, image_id: im.id, category_id: cat.id, bbox, area, iscrowd: crowd });
        const nd = Math.floor(rnd() * 3);
        for (let d = 0; d < nd; d++) {
          // scores on a coarse grid so that ties happen
          dets.push({
            image_id: im.id,
            category_id: cat.id,
            bbox: jitter(bbox, 0.4),
            score: Math.round(rnd() * 20) / 20,
          });
        }
      }
    }
    if (n % 10 === 4) continue; // an image with gts but no dets of its own
    const fps = Math.floor(rnd() * 6);
    for (let j = 0; j < fps; j++) {
      const cat = categories[Math.floor(rnd() * categories.length)]!;
      dets.push({
        image_id: im.id,
        category_id: cat.id,
        bbox: randBox(),
        score: Math.round(rnd() * 100) / 100,
      });
    }
  }
  // an image where one category gets 130 detections: the maxDets=100 cut matters
  const crowded = images[2]!.id;
  for (let j = 0; j < 130; j++) {
    dets.push({ image_id: crowded, category_id: 1, bbox: randBox(), score: rnd() });
  }
  // detections in an image without gts
  dets.push({ image_id: images[9]!.id, category_id: 3, bbox: [10, 10, 50, 50], score: 0.99 });
  if (seed === 3) {
    // pycocotools quirks: a gt with id 0 is never "matched"; a reused id resolves to the last annotation
    annotations.push({
      id: 0,
      image_id: images[0]!.id,
      category_id: 1,
      bbox: [5, 5, 60, 60],
      area: 3600,
      iscrowd: 0,
    });
    dets.push({ image_id: images[0]!.id, category_id: 1, bbox: [5, 5, 60, 60], score: 0.97 });
    annotations[6]!.id = annotations[5]!.id;
  }
  return { gt: { images, annotations, categories }, dets };
}
