/**
 * The detector's input batch built in JS and uploaded once, for backends whose allocator keeps a
 * buffer per size (webgpu; backend/capabilities.ts). Built with TF.js ops, each image's upload,
 * resize and padding would be a tensor of its own shape — dataset sizes × multi-scale sizes, each
 * allocated once and kept for the rest of the run. Here the only tensor is the batch, on a canvas
 * whose sides are size classes (shape-buckets.ts): a long multi-scale run meets a few canvases.
 *
 * Same pixels as inputs.ts's tensor path (bilinear with half-pixel centres as tf.image.resizeBilinear
 * computes it, mirror, ImageNet normalisation, zero padding at the bottom and right), on a larger
 * canvas: the extra zero padding is the only difference a detector sees.
 */
import * as tf from '@tensorflow/tfjs';
import { canvasBucket } from '../backend/shape-buckets';
import { IMAGENET_MEAN, IMAGENET_STD } from '../data/augment-params';
import type { RawImage } from '../data/raw-image';

/** Source row/column and weight of each output coordinate (tf.image.resizeBilinear, half-pixel centres). */
function axisTaps(inSize: number, outSize: number): { lo: Int32Array; hi: Int32Array; frac: Float32Array } {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float32Array(outSize);
  const ratio = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const f = ratio * (o + 0.5) - 0.5;
    lo[o] = Math.max(0, Math.floor(f));
    hi[o] = Math.min(inSize - 1, Math.ceil(f));
    frac[o] = f - lo[o]!;
  }
  return { lo, hi, frac };
}

/**
 * [N, H, W, 3] with H, W the canvas (size classes, multiples of `divisibility`) holding each image
 * resized to `shapes[i]`, mirrored where `flips[i]`, normalised, at the top left.
 */
export function hostInputBatch(
  images: RawImage[],
  shapes: [number, number][],
  flips: boolean[],
  divisibility: number,
): tf.Tensor4D {
  const H = canvasBucket(Math.max(...shapes.map((s) => s[0])), divisibility);
  const W = canvasBucket(Math.max(...shapes.map((s) => s[1])), divisibility);
  const out = new Float32Array(images.length * H * W * 3);
  const scale = IMAGENET_STD.map((sd) => 1 / (255 * sd));
  const offset = IMAGENET_MEAN.map((m, c) => -m / IMAGENET_STD[c]!);
  images.forEach((im, n) => {
    const [h, w] = shapes[n]!;
    const ys = axisTaps(im.height, h);
    const xs = axisTaps(im.width, w);
    const src = im.data;
    for (let y = 0; y < h; y++) {
      const top = ys.lo[y]! * im.width;
      const bottom = ys.hi[y]! * im.width;
      const fy = ys.frac[y]!;
      const row = (n * H + y) * W;
      for (let x = 0; x < w; x++) {
        const l = xs.lo[x]!;
        const r = xs.hi[x]!;
        const fx = xs.frac[x]!;
        const o = (row + (flips[n] ? w - 1 - x : x)) * 3;
        for (let c = 0; c < 3; c++) {
          const tl = src[(top + l) * 3 + c]!;
          const t = tl + (src[(top + r) * 3 + c]! - tl) * fx;
          const bl = src[(bottom + l) * 3 + c]!;
          const b = bl + (src[(bottom + r) * 3 + c]! - bl) * fx;
          out[o + c] = (t + (b - t) * fy) * scale[c]! + offset[c]!;
        }
      }
    }
  });
  return tf.tensor4d(out, [images.length, H, W, 3]);
}
