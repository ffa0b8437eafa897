/**
 * BYOL's view augmentations (Grill et al. 2020, Table 6), seeded and batched on tensors:
 *   random resized crop → horizontal flip → colour jitter (p 0.8) → grayscale (p 0.2)
 *   → Gaussian blur (p 1.0 / 0.1) → solarize (p 0 / 0.2) → ImageNet normalisation.
 * View 1 and view 2 differ only in the blur and solarize probabilities; Self-EMD's extra small
 * "scale" view uses view 2's probabilities at its own size.
 *
 * All randomness is drawn on the JS side into a plain `ViewParams` record per image
 * (`sampleViewParams`, augment-params.ts), and `applyViewParams` is a pure function of images and
 * params — so the sampling is testable without tensors, reproducible from the Rng state, and the
 * pixel work can run in another thread from the same params.
 *
 * Semantics follow torchvision: crop sampling (10 tries then a centre crop), half-pixel bilinear
 * resizing with edge clamping, ColorJitter's random order and blend formulas, ITU-R 601 grey,
 * reflect-padded separable Gaussian blur, `x >= t ? 1 - x : x` solarisation. One difference:
 * the resize is plain bilinear (tf.image.cropAndResize), without torchvision's antialiasing on
 * downscale; the cache resolution (imageSize × cacheScale) keeps downscale factors small (≤ ~2.5).
 *
 * The crop-and-resize always runs in TF.js. The colour stages have two implementations with the
 * same results (tested to 1e-4): batched tensor ops here, and fused loops in colour-ops-js.ts,
 * which `auto` picks on the wasm and cpu backends where it is several times faster.
 */
import * as tf from '@tensorflow/tfjs';
import { buffersPooledBySize, hostReadsAreCheap, opsAreSingleThreaded } from '../backend/capabilities';
import { readHostSync } from '../backend/host-read';
import { canvasBucket } from '../backend/shape-buckets';
import {
  GRAY_WEIGHTS,
  IMAGENET_MEAN,
  IMAGENET_STD,
  type JitterOp,
  SOLARIZE_THRESHOLD,
  type ViewParams,
  type ViewSpec,
  blurKernelSize,
  gaussianKernel1d,
  sampleViewBatchParams,
} from './augment-params';
import { colourStagesJs } from './colour-ops-js';
import type { RawImage } from './raw-image';
import type { Rng } from './rng';

export * from './augment-params';

// ---------------------------------------------------------------------------------------------
// Tensor ops on [B, S, S, 3] batches in [0, 1]

/** Rows [start, start + count) of a batch: a contiguous copy (gather is slow on the CPU backends). */
function rows(x: tf.Tensor4D, start: number, count: number): tf.Tensor4D {
  return tf.slice(x, [start, 0, 0, 0], [count, -1, -1, -1]);
}

/** Concatenates [source, start, count] runs of rows; consecutive runs of one source are merged. */
function assemble(runs: [tf.Tensor4D, number, number][]): tf.Tensor4D {
  const merged: [tf.Tensor4D, number, number][] = [];
  for (const r of runs) {
    const last = merged[merged.length - 1];
    if (last && last[0] === r[0] && last[1] + last[2] === r[1]) last[2] += r[2];
    else merged.push([...r]);
  }
  const parts = merged.map(([t, start, count]) =>
    start === 0 && count === t.shape[0] ? t : rows(t, start, count),
  );
  return parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
}

/**
 * Applies `fn` to the images at `indices` (ascending) only, leaving the others untouched and
 * uncomputed; `fn` gets the images and their indices. Where the backend keeps a buffer per size
 * (webgpu), a subset would be a tensor of a new shape for every count: there every image goes
 * through `fn` and the others are put back (exactly: a select, not a blend).
 */
function onSubset(
  x: tf.Tensor4D,
  indices: number[],
  fn: (sub: tf.Tensor4D, of: number[]) => tf.Tensor4D,
): tf.Tensor4D {
  const n = x.shape[0];
  const all = Array.from({ length: n }, (_, i) => i);
  if (buffersPooledBySize()) {
    // Also when no image or every image is chosen: the same programs and shapes every batch.
    const chosen = new Set(indices);
    const mask = tf.tensor4d(
      all.map((i) => chosen.has(i)),
      [n, 1, 1, 1],
      'bool',
    );
    return tf.where(mask, fn(x, all), x);
  }
  if (indices.length === 0) return x;
  if (indices.length === n) return fn(x, all);
  const sub = fn(assemble(indices.map((i) => [x, i, 1])), indices);
  const position = new Map(indices.map((i, j) => [i, j]));
  return assemble(
    Array.from({ length: n }, (_, i): [tf.Tensor4D, number, number] => {
      const j = position.get(i);
      return j === undefined ? [x, i, 1] : [sub, j, 1];
    }),
  );
}

const perImage = (values: number[]) => tf.tensor4d(values, [values.length, 1, 1, 1]);

/**
 * y = x · M_i per image (M_i a 3×3 colour matrix, row = input channel): one batched matMul over
 * [B, S·S, 3]. Channel mixing this way is far cheaper on the CPU backends than splitting channels.
 */
function mixChannels(x: tf.Tensor4D, matrices: Float32Array): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const y = tf.matMul(tf.reshape(x, [n, h * w, 3]), tf.tensor3d(matrices, [n, 3, 3]));
  return tf.reshape(y, [n, h, w, 3]);
}

const IDENTITY3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];
/** M with every output channel equal to the grey value: M[k][j] = w_k. */
const GRAY3 = GRAY_WEIGHTS.flatMap((wk) => [wk, wk, wk]);

/**
 * One colour-jitter slot for brightness, contrast and saturation, each a per-image affine colour
 * map followed by clamping (torchvision's _blend): brightness b·x, contrast c·x + (1−c)·mean(grey),
 * saturation s·x + (1−s)·grey(x). Images doing something else this slot get the identity, which
 * is exact (x·1 + y·0 = x, and x is already in [0, 1]). `always`: the contrast term too when no image
 * draws contrast (a zero weight, exact): the same ops on every batch.
 */
function linearJitterSlot(
  x: tf.Tensor4D,
  ops: (JitterOp | null)[],
  params: readonly ViewParams[],
  always: boolean,
): tf.Tensor4D {
  const n = ops.length;
  const matrices = new Float32Array(n * 9);
  const contrastWeight = new Array<number>(n).fill(0);
  ops.forEach((op, i) => {
    const j = params[i]!.jitter;
    let m = IDENTITY3;
    if (op === 'brightness') m = IDENTITY3.map((v) => v * j!.brightness);
    else if (op === 'contrast') {
      m = IDENTITY3.map((v) => v * j!.contrast);
      contrastWeight[i] = 1 - j!.contrast;
    } else if (op === 'saturation') {
      const sf = j!.saturation;
      m = IDENTITY3.map((v, k) => sf * v + (1 - sf) * GRAY3[k]!);
    }
    matrices.set(m, i * 9);
  });
  let y = mixChannels(x, matrices);
  if (always || contrastWeight.some((v) => v !== 0)) {
    // The mean grey of the image as it is before this op (torchvision: mean of rgb_to_grayscale).
    const meanGrey = tf.sum(
      tf.mul(tf.mean(x, [1, 2], true), tf.tensor1d(GRAY_WEIGHTS as unknown as number[])),
      -1,
      true,
    );
    y = tf.add(y, tf.mul(meanGrey, perImage(contrastWeight)));
  }
  return tf.clipByValue(y, 0, 1);
}

/**
 * From d = (max−r, max−g, max−b)/chroma to the three hue candidates (×6, before the 0/2/4 offsets):
 * max at r → d_b − d_g, at g → d_r − d_b, at b → d_g − d_r. Row = input channel, column = candidate.
 */
const HUE_CANDIDATES = [0, 1, -1, -1, 0, 1, 1, -1, 0];
/** Strictly-upper-triangular ones: e·U counts earlier channels that also hit the max. */
const EARLIER = [0, 1, 1, 0, 0, 1, 0, 0, 0];

/**
 * RGB → HSV, shift hue (mod 1), HSV → RGB, per image: torchvision's adjust_hue formulas
 * (hue from the max channel, ties resolved r before g before b), written with channel-mixing
 * matMuls instead of channel splits.
 */
function adjustHue(x: tf.Tensor4D, shift: tf.Tensor4D): tf.Tensor4D {
  const [n, hgt, wid] = x.shape;
  const flat = (t: tf.Tensor) => tf.reshape(t, [n * hgt * wid, 3]);
  const [r, g, b] = tf.split(x, 3, -1);
  const maxc = tf.maximum(tf.maximum(r!, g!), b!);
  const minc = tf.minimum(tf.minimum(r!, g!), b!);
  const cr = tf.sub(maxc, minc);
  const fromMax = tf.sub(maxc, x); // 0 exactly at the max channel(s)
  const chroma = tf.add(cr, tf.cast(tf.equal(cr, 0), 'float32')); // grey pixels divide by 1
  const sat = tf.div(cr, tf.add(maxc, tf.cast(tf.equal(maxc, 0), 'float32')));
  const candidates = tf.add(
    tf.matMul(flat(tf.div(fromMax, chroma)), tf.tensor2d(HUE_CANDIDATES, [3, 3])),
    tf.tensor1d([0, 2, 4]),
  );
  const isMax = tf.cast(tf.lessEqual(flat(fromMax), 0), 'float32');
  const first = tf.mul(isMax, tf.relu(tf.sub(1, tf.matMul(isMax, tf.tensor2d(EARLIER, [3, 3])))));
  const h6 = tf.reshape(tf.matMul(tf.mul(first, candidates), tf.ones([3, 1])), [n, hgt, wid, 1]);
  let h = tf.add(tf.div(h6, 6), 1);
  h = tf.add(tf.sub(h, tf.floor(h)), shift);
  h = tf.sub(h, tf.floor(h));
  // HSV → RGB: channel n ∈ {5, 3, 1}: v − v·s·clamp(min(k, 4 − k), 0, 1), k = (n + 6h) mod 6.
  let k = tf.add(tf.mul(h, 6), tf.tensor1d([5, 3, 1]));
  k = tf.sub(k, tf.mul(tf.floor(tf.div(k, 6)), 6));
  const m = tf.clipByValue(tf.minimum(k, tf.sub(4, k)), 0, 1);
  return tf.sub(maxc, tf.mul(tf.mul(maxc, sat), m)) as tf.Tensor4D;
}

function solarize(x: tf.Tensor4D): tf.Tensor4D {
  return tf.where(tf.greaterEqual(x, SOLARIZE_THRESHOLD), tf.sub(1, x), x) as tf.Tensor4D;
}

/**
 * Separable Gaussian blur with a different sigma per image: the batch is folded into channels
 * ([1, S, S, B·3]) so one depthwise conv per direction applies every image's own kernel.
 * Reflect padding, as torchvision.
 */
function gaussianBlur(x: tf.Tensor4D, sigmas: number[]): tf.Tensor4D {
  const [n, hgt, wid, c] = x.shape;
  const ks = Math.min(blurKernelSize(wid), 2 * Math.min(hgt, wid) - 1);
  const r = (ks - 1) / 2;
  if (r === 0) return x;
  const weights = new Float32Array(ks * n * c);
  sigmas.forEach((sigma, i) => {
    const k = gaussianKernel1d(ks, sigma);
    for (let t = 0; t < ks; t++) for (let ch = 0; ch < c; ch++) weights[t * n * c + i * c + ch] = k[t]!;
  });
  const folded = tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, hgt, wid, n * c]) as tf.Tensor4D;
  const vertical = tf.depthwiseConv2d(
    tf.mirrorPad(
      folded,
      [
        [0, 0],
        [r, r],
        [0, 0],
        [0, 0],
      ],
      'reflect',
    ),
    tf.tensor4d(weights, [ks, 1, n * c, 1]),
    1,
    'valid',
  );
  const both = tf.depthwiseConv2d(
    tf.mirrorPad(
      vertical,
      [
        [0, 0],
        [0, 0],
        [r, r],
        [0, 0],
      ],
      'reflect',
    ),
    tf.tensor4d(weights, [1, ks, n * c, 1]),
    1,
    'valid',
  );
  return tf.transpose(tf.reshape(both, [hgt, wid, n, c]), [2, 0, 1, 3]) as tf.Tensor4D;
}

/**
 * Crops and resizes every image to size×size in [0, 1], flipping where asked. Images of the same
 * shape share one cropAndResize call. Each image is edge-padded by one pixel so half-pixel sample
 * positions just outside the crop clamp to the edge instead of reading TF's zero extrapolation.
 * Where the backend keeps a buffer per size (webgpu), all images share one canvas instead
 * (cropResizeOnCanvas): grouped uploads would be tensors of ever new shapes.
 */
function cropResize(images: readonly RawImage[], params: readonly ViewParams[], size: number): tf.Tensor4D {
  if (buffersPooledBySize()) return cropResizeOnCanvas(images, params, size);
  const groups = new Map<string, number[]>();
  images.forEach((img, i) => {
    const key = `${img.height}x${img.width}`;
    const list = groups.get(key);
    if (list) list.push(i);
    else groups.set(key, [i]);
  });
  const parts: tf.Tensor4D[] = [];
  const order: number[] = [];
  for (const indices of groups.values()) {
    const { width: w, height: h } = images[indices[0]!]!;
    const plane = h * w * 3;
    const pixels = new Float32Array(indices.length * plane);
    indices.forEach((idx, j) => {
      const data = images[idx]!.data;
      const base = j * plane;
      for (let t = 0; t < plane; t++) pixels[base + t] = data[t]! / 255;
    });
    const padded = tf.mirrorPad(
      tf.tensor4d(pixels, [indices.length, h, w, 3]),
      [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ],
      'symmetric',
    );
    const boxes = new Float32Array(indices.length * 4);
    indices.forEach((idx, j) => boxes.set(cropBox(params[idx]!, size, h + 1, w + 1), j * 4));
    parts.push(
      tf.image.cropAndResize(
        padded,
        tf.tensor2d(boxes, [indices.length, 4]),
        tf.tensor1d(Int32Array.from(indices.map((_, j) => j)), 'int32'),
        [size, size],
        'bilinear',
      ),
    );
    order.push(...indices);
  }
  const all = parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
  if (order.every((v, i) => v === i)) return all;
  const inverse = new Array<number>(order.length);
  order.forEach((src, pos) => (inverse[src] = pos));
  return assemble(inverse.map((pos): [tf.Tensor4D, number, number] => [all, pos, 1]));
}

/**
 * cropAndResize's box for a view's crop in an image edge-padded by one pixel, whose padded height
 * and width are `yDen` + 1 and `xDen` + 1 (the image's own, or a larger canvas it sits in at the top
 * left). Output pixel k samples source coordinate top + (k + ½)·height/size − ½ (half-pixel centres);
 * TF samples y1·yDen + k·(y2 − y1)·yDen/(size − 1) in the padded image.
 */
function cropBox(p: ViewParams, size: number, yDen: number, xDen: number): number[] {
  const { crop, flip } = p;
  const ys = crop.height / size;
  const xs = crop.width / size;
  const y1 = (crop.top + ys / 2 + 0.5) / yDen;
  const y2 = (crop.top + crop.height - ys / 2 + 0.5) / yDen;
  const xa = (crop.left + xs / 2 + 0.5) / xDen;
  const xb = (crop.left + crop.width - xs / 2 + 0.5) / xDen;
  // A box with x1 > x2 samples right to left: the horizontal flip costs nothing.
  return flip ? [y1, xb, y2, xa] : [y1, xa, y2, xb];
}

/**
 * cropResize with every image, edge-padded by one pixel, at the top left of one [B, H, W, 3] canvas
 * whose sides are size classes (shape-buckets.ts): one upload of a shape from a small set, whatever
 * the mix of image sizes in the batch. The same sample positions; only float rounding differs.
 */
function cropResizeOnCanvas(
  images: readonly RawImage[],
  params: readonly ViewParams[],
  size: number,
): tf.Tensor4D {
  const H = canvasBucket(Math.max(...images.map((im) => im.height)) + 2, 8);
  const W = canvasBucket(Math.max(...images.map((im) => im.width)) + 2, 8);
  const pixels = new Float32Array(images.length * H * W * 3);
  const boxes = new Float32Array(images.length * 4);
  images.forEach((img, i) => {
    const { width: w, height: h, data } = img;
    for (let y = 0; y < h + 2; y++) {
      const sy = Math.min(Math.max(y - 1, 0), h - 1);
      for (let x = 0; x < w + 2; x++) {
        const sx = Math.min(Math.max(x - 1, 0), w - 1);
        const s = (sy * w + sx) * 3;
        const o = ((i * H + y) * W + x) * 3;
        pixels[o] = data[s]! / 255;
        pixels[o + 1] = data[s + 1]! / 255;
        pixels[o + 2] = data[s + 2]! / 255;
      }
    }
    boxes.set(cropBox(params[i]!, size, H - 1, W - 1), i * 4);
  });
  return tf.image.cropAndResize(
    tf.tensor4d(pixels, [images.length, H, W, 3]),
    tf.tensor2d(boxes, [images.length, 4]),
    tf.tensor1d(Int32Array.from(images.keys()), 'int32'),
    [size, size],
    'bilinear',
  );
}

/** The colour stages (jitter, grayscale, blur, solarize) on a [B, S, S, 3] batch in [0, 1]. */
function colourStages(x: tf.Tensor4D, params: readonly ViewParams[]): tf.Tensor4D {
  const n = params.length;
  // Where the backend keeps a buffer per size (webgpu), every stage runs on every batch (identity
  // for the images not drawing it, exact), so that each batch allocates the same buffers: a stage
  // first drawn at batch k would otherwise add its buffers then.
  const always = buffersPooledBySize();
  // Colour jitter, slot by slot: in slot k every image applies its own k-th op.
  for (let slot = 0; slot < 4; slot++) {
    const ops = params.map((p) => (p.jitter ? p.jitter.order[slot]! : null));
    if (always || ops.some((op) => op === 'brightness' || op === 'contrast' || op === 'saturation'))
      x = linearJitterSlot(x, ops, params, always);
    const hueIdx = ops.flatMap((op, i) => (op === 'hue' ? [i] : []));
    // Images outside the subset (computed only where shapes must stay fixed, then discarded) shift by 0.
    x = onSubset(x, hueIdx, (sub, of) =>
      adjustHue(sub, perImage(of.map((i) => params[i]!.jitter?.hue ?? 0))),
    );
  }
  if (always || params.some((p) => p.grayscale)) {
    const matrices = new Float32Array(n * 9);
    params.forEach((p, i) => matrices.set(p.grayscale ? GRAY3 : IDENTITY3, i * 9));
    x = mixChannels(x, matrices);
  }
  const pick = (f: (p: ViewParams) => boolean) => params.flatMap((p, i) => (f(p) ? [i] : []));
  const blurIdx = pick((p) => p.blurSigma !== null);
  // As for hue: images outside the subset blur with σ = 1 only where they are computed and discarded.
  x = onSubset(x, blurIdx, (sub, of) =>
    gaussianBlur(
      sub,
      of.map((i) => params[i]!.blurSigma ?? 1),
    ),
  );
  x = onSubset(
    x,
    pick((p) => p.solarize),
    solarize,
  );
  return x;
}

/**
 * Which implementation runs the colour stages after the (always TF.js) crop-and-resize:
 * `tensor` — batched TF.js ops, best on native and GPU backends;
 * `js` — fused per-image loops (colour-ops-js.ts), several times faster on the wasm and cpu
 * backends where every TF.js op is a separate single-threaded pass.
 * Both give the same values up to float rounding (tested to 1e-4).
 */
export type AugmentImpl = 'tensor' | 'js';

export function defaultAugmentImpl(): AugmentImpl {
  // By capability (backend/capabilities.ts): the JS loops read the crops to the host, and win only
  // where each TF.js op is a single-threaded pass.
  return hostReadsAreCheap() && opsAreSingleThreaded() ? 'js' : 'tensor';
}

export interface ApplyOptions {
  /** Skip ImageNet normalisation and return [0, 1] pixels (for visualisation and tests). */
  normalize?: boolean;
  /** Default `auto`: defaultAugmentImpl() for the current backend. */
  impl?: AugmentImpl | 'auto';
}

function normalizeTensor(x: tf.Tensor4D): tf.Tensor4D {
  const scale = IMAGENET_STD.map((sd) => 1 / sd);
  const offset = IMAGENET_MEAN.map((m, c) => -m * scale[c]!);
  return tf.add(tf.mul(x, tf.tensor1d(scale)), tf.tensor1d(offset));
}

/**
 * Applies sampled params: deterministic given images and params (and the backend).
 * Returns a [B, size, size, 3] float32 tensor that the caller owns; no other tensor survives.
 */
export function applyViewParams(
  images: readonly RawImage[],
  params: readonly ViewParams[],
  size: number,
  options: ApplyOptions = {},
): tf.Tensor4D {
  if (images.length === 0) throw new Error('augment: empty image batch');
  if (images.length !== params.length)
    throw new Error(`augment: ${images.length} images but ${params.length} view params`);
  for (const img of images)
    if (img.data.length !== img.width * img.height * 3)
      throw new Error(
        `augment: image ${img.id} has ${img.data.length} bytes, expected ${img.width}×${img.height}×3`,
      );
  const normalize = options.normalize !== false;
  const impl = !options.impl || options.impl === 'auto' ? defaultAugmentImpl() : options.impl;
  return tf.tidy(() => {
    const cropped = cropResize(images, params, size);
    if (impl === 'js') {
      const pixels = new Float32Array(readHostSync(cropped));
      colourStagesJs(pixels, size, params, normalize);
      return tf.tensor4d(pixels, cropped.shape);
    }
    const x = colourStages(cropped, params);
    return normalize ? normalizeTensor(x) : x;
  });
}

export interface ViewBatch {
  /** [B, size, size, 3], ImageNet-normalised. The caller disposes it. */
  pixels: tf.Tensor4D;
  /** Per image, the crop as fractions of the source image [y1, x1, y2, x2] (before flipping). */
  boxes: number[][];
  /** Per image, whether the view is mirrored left–right relative to the box. */
  flipped: boolean[];
  /** Every random choice, for records and debugging. */
  params: ViewParams[];
}

/** Samples one view of every image from `rng` (in batch order) and renders it. */
export function makeViewBatch(
  images: readonly RawImage[],
  rng: Rng,
  spec: ViewSpec,
  options: ApplyOptions = {},
): ViewBatch {
  const params = sampleViewBatchParams(images, rng, spec);
  return {
    pixels: applyViewParams(images, params, spec.size, options),
    boxes: params.map((p) => [...p.crop.box]),
    flipped: params.map((p) => p.flip),
    params,
  };
}
