/** The last step of every detector's inference: clip to the image, class-wise NMS, keep the best. */
import { clipBoxes, concatBoxes, selectBoxes } from './boxes';
import type { Detections } from './detector';
import { batchedNms } from './nms';

/** Candidates (boxes in parts, one score and class per box) → clipped, class-wise NMS, top `maxDetections`. */
export function finalizeDetections(
  boxesParts: Float32Array[],
  scores: number[],
  classes: number[],
  size: [number, number],
  nmsThresh: number,
  maxDetections: number,
): Detections {
  const all = concatBoxes(boxesParts);
  if (all.length !== scores.length * 4)
    throw new Error(`finalizeDetections: ${all.length / 4} boxes for ${scores.length} scores`);
  clipBoxes(all, size[1], size[0]);
  const keep = batchedNms(all, scores, classes, nmsThresh).slice(0, maxDetections);
  return {
    boxes: selectBoxes(all, keep),
    scores: Float32Array.from(keep, (i) => scores[i]!),
    classes: Int32Array.from(keep, (i) => classes[i]!),
  };
}
