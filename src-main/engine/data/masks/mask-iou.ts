/**
 * Mask IoU as pycocotools' rleIou (common/maskApi.c): intersection over union of two RLEs of one
 * size, except that against a crowd ground truth the union is the detection's area alone, so that a
 * detection inside a crowd region scores its overlap fraction.
 */
import { rleArea, rleIntersection, type Rle } from './rle';

export function rleIou(dt: Rle, gt: Rle, gtIsCrowd: boolean): number {
  if (dt.size[0] !== gt.size[0] || dt.size[1] !== gt.size[1]) {
    throw new Error(
      `mask IoU: detection size ${dt.size.join('x')} differs from ground truth ${gt.size.join('x')}`,
    );
  }
  const inter = rleIntersection(dt, gt);
  if (inter === 0) return 0;
  const dtArea = rleArea(dt);
  const union = gtIsCrowd ? dtArea : dtArea + rleArea(gt) - inter;
  return inter / union;
}
