/**
 * An annotation's segmentation (as read from COCO JSON) to one RLE or one decoded mask, following
 * pycocotools' COCO.annToRLE: polygons are rasterised and merged; uncompressed counts (crowd regions)
 * and compressed strings keep their own size.
 */
import type { BinaryMask, CocoRle, InstanceSegmentation } from './mask-types';
import { boxesToRle, polygonsToRle } from './polygon';
import { decodeRle, rleProblem, type Rle } from './rle';
import { decompressCounts } from './rle-string';

function isCocoRle(seg: InstanceSegmentation): seg is CocoRle {
  return !Array.isArray(seg);
}

/** Plain counts of a COCO RLE (decompressing a string); throws on a malformed RLE. */
export function toPlainRle(rle: CocoRle): Rle {
  const counts = typeof rle.counts === 'string' ? decompressCounts(rle.counts) : rle.counts;
  const out: Rle = { size: [rle.size[0], rle.size[1]], counts };
  const problem = rleProblem(out);
  if (problem) throw new Error(`bad RLE: ${problem}`);
  return out;
}

/**
 * One RLE for a segmentation on an image of height x width. As in pycocotools' frPyObjects, a list
 * whose first polygon has exactly four numbers is read as boxes [x, y, w, h], not as a polygon. An
 * RLE must have the image's size (pycocotools would give IoU -1 against it).
 */
export function segmentationToRle(seg: InstanceSegmentation, height: number, width: number): Rle {
  if (!isCocoRle(seg)) {
    if (seg.length > 0 && seg[0]!.length === 4) return boxesToRle(seg, height, width);
    return polygonsToRle(seg, height, width);
  }
  const rle = toPlainRle(seg);
  if (rle.size[0] !== height || rle.size[1] !== width) {
    throw new Error(`RLE size ${rle.size[0]}x${rle.size[1]} differs from the image's ${height}x${width}`);
  }
  return rle;
}

/** The decoded mask of a segmentation, row-major, height x width. */
export function decodeSegmentation(seg: InstanceSegmentation, height: number, width: number): BinaryMask {
  return decodeRle(segmentationToRle(seg, height, width));
}
