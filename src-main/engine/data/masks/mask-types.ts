/**
 * Instance masks as the importers, the demo generator, Mask R-CNN and the segm evaluator share them.
 *
 * The file formats' shapes are kept (COCO polygons and RLE, as in the JSON) so a dataset exported
 * again says what it was given; `BinaryMask` is the one decoded form every consumer works on.
 */

/**
 * COCO run-length encoding. `size` is [height, width]; `counts` runs over the pixels in column-major
 * (Fortran) order and starts with a run of zeros, either as numbers (uncompressed, COCO's crowd
 * regions) or as pycocotools' compressed string.
 */
export interface CocoRle {
  size: [number, number];
  counts: number[] | string;
}

/** COCO polygons: each a flat [x0, y0, x1, y1, ...] in continuous pixel coordinates. */
export type CocoPolygons = number[][];

/** What an annotation's `segmentation` holds, as read from the file. */
export type InstanceSegmentation = CocoPolygons | CocoRle;

/** A decoded mask: `data[y * width + x]` is 1 inside the object, 0 outside (row-major). */
export interface BinaryMask {
  height: number;
  width: number;
  data: Uint8Array;
}
