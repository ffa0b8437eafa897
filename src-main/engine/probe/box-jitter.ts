/**
 * Extra training samples for the probe: boxes near a ground-truth box (IoU ≥ a floor), as a
 * detector's box head sees them — proposals are never exact. Each jitter shifts the centre and
 * rescales the sides by a random amount; a draw under the IoU floor is drawn again.
 */
import { iouAt, type BoxArray } from '../detection/boxes';
import type { Rng } from '../data/rng';

/** Draws per jitter before giving up on a (tiny or degenerate) box: it then repeats the box itself. */
const MAX_DRAWS = 50;

/**
 * `count` boxes per box of `boxes` (xyxy), each with IoU ≥ `minIou` to its source, clipped to the
 * image (width × height). Box i's jitters are rows i·count … i·count + count − 1.
 */
export function jitterBoxes(
  boxes: BoxArray,
  count: number,
  minIou: number,
  width: number,
  height: number,
  rng: Rng,
): BoxArray {
  const n = boxes.length / 4;
  const out = new Float32Array(n * count * 4);
  const one = new Float32Array(4);
  for (let i = 0; i < n; i++) {
    const [x1, y1, x2, y2] = [boxes[i * 4]!, boxes[i * 4 + 1]!, boxes[i * 4 + 2]!, boxes[i * 4 + 3]!];
    const w = x2 - x1;
    const h = y2 - y1;
    for (let j = 0; j < count; j++) {
      one.set([x1, y1, x2, y2]);
      for (let draw = 0; draw < MAX_DRAWS; draw++) {
        // Shifts of up to a quarter side and scales in [0.75, 1.33] reach IoU 0.5 about half the time.
        const cx = (x1 + x2) / 2 + rng.uniform(-0.25, 0.25) * w;
        const cy = (y1 + y2) / 2 + rng.uniform(-0.25, 0.25) * h;
        const sw = (w * Math.exp(rng.uniform(-0.29, 0.29))) / 2;
        const sh = (h * Math.exp(rng.uniform(-0.29, 0.29))) / 2;
        const cand = Float32Array.of(
          Math.max(0, cx - sw),
          Math.max(0, cy - sh),
          Math.min(width, cx + sw),
          Math.min(height, cy + sh),
        );
        if (cand[2]! > cand[0]! && cand[3]! > cand[1]! && iouAt(cand, 0, boxes, i) >= minIou) {
          one.set(cand);
          break;
        }
      }
      out.set(one, (i * count + j) * 4);
    }
  }
  return out;
}
