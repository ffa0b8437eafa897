/**
 * Mask R-CNN's masks pasted back into the image (detectron2's paste_masks_in_image): the M × M
 * probabilities of a detection's class are resampled bilinearly onto the image pixels its box
 * covers (torch grid_sample, align_corners = false, zeros outside the mask) and thresholded at 0.5.
 */
import type { BinaryMask } from '../../data/masks/mask-types';

/**
 * One detection's mask in an image of `height` × `width`: `probs` holds M × M probabilities (row-major,
 * from `offset`), `box` the detection's xyxy in the image's pixels.
 */
export function pasteMask(
  probs: Float32Array,
  offset: number,
  M: number,
  box: ArrayLike<number>,
  height: number,
  width: number,
  threshold = 0.5,
): BinaryMask {
  const data = new Uint8Array(height * width);
  const [x0, y0, x1, y1] = [box[0]!, box[1]!, box[2]!, box[3]!];
  const bw = x1 - x0;
  const bh = y1 - y0;
  if (!(bw > 0 && bh > 0)) return { height, width, data };
  // Beyond a pixel outside the box every sample is zero (detectron2 pastes into this window too).
  const xa = Math.max(Math.floor(x0) - 1, 0);
  const xb = Math.min(Math.ceil(x1) + 1, width);
  const ya = Math.max(Math.floor(y0) - 1, 0);
  const yb = Math.min(Math.ceil(y1) + 1, height);
  const at = (r: number, c: number) => (r < 0 || c < 0 || r >= M || c >= M ? 0 : probs[offset + r * M + c]!);
  for (let y = ya; y < yb; y++) {
    // The pixel centre in the mask's pixel coordinates (grid_sample with align_corners = false).
    const v = ((y + 0.5 - y0) / bh) * M - 0.5;
    const r0 = Math.floor(v);
    const fy = v - r0;
    for (let x = xa; x < xb; x++) {
      const u = ((x + 0.5 - x0) / bw) * M - 0.5;
      const c0 = Math.floor(u);
      const fx = u - c0;
      const p =
        (1 - fy) * ((1 - fx) * at(r0, c0) + fx * at(r0, c0 + 1)) +
        fy * ((1 - fx) * at(r0 + 1, c0) + fx * at(r0 + 1, c0 + 1));
      if (p >= threshold) data[y * width + x] = 1;
    }
  }
  return { height, width, data };
}
