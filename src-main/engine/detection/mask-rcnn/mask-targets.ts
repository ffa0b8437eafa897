/**
 * Mask R-CNN's training targets, as detectron2 makes them (BitMasks.crop_and_resize): each
 * foreground RoI's matched ground-truth mask cropped to the RoI's box and resized to M × M with
 * RoIAlign (aligned, adaptive sampling), then thresholded at 0.5.
 *
 * The masks stay in the pixels they were decoded at (the image's original size); a training batch
 * resizes and mirrors the image, so each mask carries that transform (`PlacedMask`) and the RoI's
 * box is mapped back to the mask's pixels instead of the mask being resampled to the batch — the
 * same crop, and no full-image resize per object per step. The sampling is roi-align.ts's plan (one
 * RoIAlign), applied on the host to the 1-channel mask.
 */
import type { BinaryMask } from '../../data/masks/mask-types';
import type { BoxArray } from '../boxes';
import { planRoiAlign } from '../roi-align';

/** A decoded mask and where its pixels land in a batch: x_batch = x · scaleX (then mirrored in `width`). */
export interface PlacedMask {
  mask: BinaryMask;
  scaleX: number;
  scaleY: number;
  /** Mirrored horizontally in a batch image this wide (null: not mirrored). */
  flipWidth: number | null;
}

/** `mask` (decoded at `from` = [h, w]) placed in a batch image resized to `to` and mirrored when `flip`. */
export function placeMask(mask: BinaryMask, to: [number, number], flip: boolean): PlacedMask {
  return {
    mask,
    scaleX: to[1] / mask.width,
    scaleY: to[0] / mask.height,
    flipWidth: flip ? to[1] : null,
  };
}

/**
 * The M × M targets (row-major, 0/1) of RoIs `boxes` (batch pixels, xyxy), RoI r cropped from
 * `masks[r]`: [R · M · M]. RoIs sharing a mask are planned together.
 */
export function maskTargets(boxes: BoxArray, masks: PlacedMask[], resolution: number): Float32Array {
  const R = boxes.length / 4;
  if (masks.length !== R) throw new Error(`maskTargets: ${masks.length} masks for ${R} boxes`);
  const M = resolution;
  const out = new Float32Array(R * M * M);
  const byMask = new Map<PlacedMask, number[]>();
  masks.forEach((m, r) => {
    const rows = byMask.get(m);
    if (rows) rows.push(r);
    else byMask.set(m, [r]);
  });
  for (const [placed, rows] of byMask) {
    const { mask, scaleX, scaleY, flipWidth } = placed;
    // The RoIs in the mask's own pixels (un-mirrored, un-resized).
    const local = new Float32Array(rows.length * 4);
    rows.forEach((r, j) => {
      const [x1, y1, x2, y2] = boxes.subarray(r * 4, r * 4 + 4);
      local[j * 4] = (flipWidth === null ? x1! : flipWidth - x2!) / scaleX;
      local[j * 4 + 1] = y1! / scaleY;
      local[j * 4 + 2] = (flipWidth === null ? x2! : flipWidth - x1!) / scaleX;
      local[j * 4 + 3] = y2! / scaleY;
    });
    const plan = planRoiAlign(
      local,
      new Int32Array(rows.length),
      new Int32Array(rows.length),
      [{ batch: 1, height: mask.height, width: mask.width, stride: 1 }],
      M,
      0,
    );
    const soft = new Float32Array(rows.length * M * M);
    for (let e = 0; e < plan.src.length; e++) {
      const d = plan.dst[e]!;
      soft[d] = soft[d]! + mask.data[plan.src[e]!]! * plan.weight[e]!;
    }
    rows.forEach((r, j) => {
      for (let y = 0; y < M; y++)
        for (let x = 0; x < M; x++) {
          // A mirrored image's RoI is the un-mirrored crop read right to left.
          const sx = flipWidth === null ? x : M - 1 - x;
          out[(r * M + y) * M + x] = soft[(j * M + y) * M + sx]! >= 0.5 ? 1 : 0;
        }
    });
  }
  return out;
}
