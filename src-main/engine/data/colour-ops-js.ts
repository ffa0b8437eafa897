/**
 * The colour stages of the BYOL view augmentation (jitter, grayscale, blur, solarize, normalise)
 * as plain loops over a Float32Array [B, S, S, 3] in [0, 1].
 *
 * Why a second implementation next to the tensor one in augment.ts: on the CPU backends (wasm,
 * cpu) each TF.js op is a full pass over memory plus dispatch overhead, and the per-image random
 * order of colour jitter needs dozens of them; one fused loop per image is several times faster
 * there (measured in the data tests). It is also the tests' independent reference for the tensor
 * path. Formulas are the same as augment.ts's (torchvision's).
 */
import type { JitterOp, ViewParams } from './augment-params';
import {
  GRAY_WEIGHTS,
  IMAGENET_MEAN,
  IMAGENET_STD,
  SOLARIZE_THRESHOLD,
  blurKernelSize,
  gaussianKernel1d,
} from './augment-params';

const [WR, WG, WB] = GRAY_WEIGHTS;

function brightness(img: Float32Array, f: number): void {
  for (let t = 0; t < img.length; t++) {
    const v = img[t]! * f;
    img[t] = v > 1 ? 1 : v;
  }
}

function contrast(img: Float32Array, f: number): void {
  let sum = 0;
  for (let t = 0; t < img.length; t += 3) sum += WR * img[t]! + WG * img[t + 1]! + WB * img[t + 2]!;
  const offset = (1 - f) * (sum / (img.length / 3));
  for (let t = 0; t < img.length; t++) {
    const v = f * img[t]! + offset;
    img[t] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
}

function saturation(img: Float32Array, f: number): void {
  for (let t = 0; t < img.length; t += 3) {
    const r = img[t]!;
    const g = img[t + 1]!;
    const b = img[t + 2]!;
    const grey = (1 - f) * (WR * r + WG * g + WB * b);
    const vr = f * r + grey;
    const vg = f * g + grey;
    const vb = f * b + grey;
    img[t] = vr < 0 ? 0 : vr > 1 ? 1 : vr;
    img[t + 1] = vg < 0 ? 0 : vg > 1 ? 1 : vg;
    img[t + 2] = vb < 0 ? 0 : vb > 1 ? 1 : vb;
  }
}

/** HSV channel value: v − v·s·clamp(min(k, 4 − k), 0, 1) with k = (n + 6h) mod 6. */
function hsvChannel(n: number, h6: number, v: number, s: number): number {
  let k = n + h6;
  k -= 6 * Math.floor(k / 6);
  const m = Math.min(k, 4 - k);
  return v - v * s * (m < 0 ? 0 : m > 1 ? 1 : m);
}

function hue(img: Float32Array, shift: number): void {
  for (let t = 0; t < img.length; t += 3) {
    const r = img[t]!;
    const g = img[t + 1]!;
    const b = img[t + 2]!;
    const maxc = Math.max(r, g, b);
    const cr = maxc - Math.min(r, g, b);
    const s = cr / (maxc === 0 ? 1 : maxc);
    const d = cr === 0 ? 1 : cr;
    const rc = (maxc - r) / d;
    const gc = (maxc - g) / d;
    const bc = (maxc - b) / d;
    let h = maxc === r ? bc - gc : maxc === g ? 2 + rc - bc : 4 + gc - rc;
    h = h / 6 + 1;
    h -= Math.floor(h);
    h += shift;
    h -= Math.floor(h);
    const h6 = h * 6;
    img[t] = hsvChannel(5, h6, maxc, s);
    img[t + 1] = hsvChannel(3, h6, maxc, s);
    img[t + 2] = hsvChannel(1, h6, maxc, s);
  }
}

function grayscale(img: Float32Array): void {
  for (let t = 0; t < img.length; t += 3) {
    const g = WR * img[t]! + WG * img[t + 1]! + WB * img[t + 2]!;
    img[t] = g;
    img[t + 1] = g;
    img[t + 2] = g;
  }
}

/** torchvision/PyTorch "reflect" index (edge not repeated). */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  i = ((i % period) + period) % period;
  return i < n ? i : period - i;
}

/** Separable Gaussian blur with reflect padding; `tmp` is scratch of the same size. */
function blur(img: Float32Array, size: number, sigma: number, tmp: Float32Array): void {
  const ks = Math.min(blurKernelSize(size), 2 * size - 1);
  const r = (ks - 1) / 2;
  if (r === 0) return;
  const k = gaussianKernel1d(ks, sigma);
  const rowLen = size * 3;
  // Vertical: whole rows at a time.
  for (let y = 0; y < size; y++) {
    const out = y * rowLen;
    tmp.fill(0, out, out + rowLen);
    for (let q = 0; q < ks; q++) {
      const w = k[q]!;
      const src = reflect(y + q - r, size) * rowLen;
      for (let t = 0; t < rowLen; t++) tmp[out + t] = tmp[out + t]! + w * img[src + t]!;
    }
  }
  // Horizontal.
  const cols = new Int32Array(size * ks);
  for (let x = 0; x < size; x++) for (let q = 0; q < ks; q++) cols[x * ks + q] = reflect(x + q - r, size) * 3;
  for (let y = 0; y < size; y++) {
    const row = y * rowLen;
    for (let x = 0; x < size; x++) {
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      for (let q = 0; q < ks; q++) {
        const w = k[q]!;
        const p = row + cols[x * ks + q]!;
        a0 += w * tmp[p]!;
        a1 += w * tmp[p + 1]!;
        a2 += w * tmp[p + 2]!;
      }
      const o = row + x * 3;
      img[o] = a0;
      img[o + 1] = a1;
      img[o + 2] = a2;
    }
  }
}

function solarize(img: Float32Array): void {
  for (let t = 0; t < img.length; t++) if (img[t]! >= SOLARIZE_THRESHOLD) img[t] = 1 - img[t]!;
}

const JITTER: Record<JitterOp, (img: Float32Array, f: number) => void> = {
  brightness,
  contrast,
  saturation,
  hue,
};

/**
 * Applies every image's colour stages in place on `pixels` ([B, size, size, 3], [0, 1]), then
 * ImageNet-normalises when `normalize` is true.
 */
export function colourStagesJs(
  pixels: Float32Array,
  size: number,
  params: readonly ViewParams[],
  normalize: boolean,
): void {
  const plane = size * size * 3;
  if (pixels.length !== plane * params.length)
    throw new Error(
      `colour stages: ${pixels.length} values for ${params.length} images of ${size}×${size}×3`,
    );
  const tmp = new Float32Array(plane);
  params.forEach((p, i) => {
    const img = pixels.subarray(i * plane, (i + 1) * plane);
    if (p.jitter) for (const op of p.jitter.order) JITTER[op](img, p.jitter[op]);
    if (p.grayscale) grayscale(img);
    if (p.blurSigma !== null) blur(img, size, p.blurSigma, tmp);
    if (p.solarize) solarize(img);
  });
  if (normalize) {
    const scale = IMAGENET_STD.map((sd) => 1 / sd);
    const offset = IMAGENET_MEAN.map((m, c) => -m * scale[c]!);
    for (let t = 0; t < pixels.length; t += 3)
      for (let c = 0; c < 3; c++) pixels[t + c] = pixels[t + c]! * scale[c]! + offset[c]!;
  }
}
