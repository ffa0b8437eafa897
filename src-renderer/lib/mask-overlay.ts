/**
 * Instance masks drawn as one semi-transparent RGBA layer over an image (the prediction preview).
 * Each mask comes as COCO's uncompressed RLE counts at the layer's size: runs over the pixels in
 * column-major order, alternating outside / inside, starting outside. Later instances are painted
 * over earlier ones, so the caller lists the most confident last to keep it on top.
 */

export interface OverlayInstance {
  /** Uncompressed COCO RLE counts over height × width pixels (column-major). */
  counts: readonly number[];
  rgb: readonly [number, number, number];
}

/**
 * The overlay's pixels, row-major RGBA (ImageData's layout): an instance's colour at `alpha` where
 * its mask is set, transparent elsewhere. Counts that run past the layer are an error (a mask of
 * another size), not silently cut.
 */
export function maskOverlayPixels(
  width: number,
  height: number,
  instances: readonly OverlayInstance[],
  alpha = 0.45,
): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(width * height * 4);
  const a = Math.round(255 * alpha);
  const total = width * height;
  instances.forEach((inst, k) => {
    let p = 0;
    inst.counts.forEach((run, j) => {
      if (p + run > total)
        throw new Error(`mask ${k}: its runs cover more than the ${width}×${height} overlay`);
      if (j % 2 === 1)
        for (let q = p; q < p + run; q++) {
          // column-major position q is pixel (x, y) = (q ÷ height, q mod height)
          const o = ((q % height) * width + Math.floor(q / height)) * 4;
          out[o] = inst.rgb[0];
          out[o + 1] = inst.rgb[1];
          out[o + 2] = inst.rgb[2];
          out[o + 3] = a;
        }
      p += run;
    });
  });
  return out;
}
