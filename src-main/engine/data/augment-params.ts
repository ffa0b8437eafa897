/**
 * The random half of BYOL's view augmentation: constants, per-image parameter records and their
 * sampling from an Rng. No tensors here, so it is testable and usable from any thread.
 * See augment.ts for the pipeline that applies them.
 */
import type { Rng } from './rng';

export type ViewKind = 1 | 2 | 'scale';

export interface ViewSpec {
  /** Output side in pixels. */
  size: number;
  /** Lower bound of the crop's area fraction (BYOL: 0.08). */
  minCropScale: number;
  view: ViewKind;
}

export interface ViewProbabilities {
  flip: number;
  colorJitter: number;
  grayscale: number;
  blur: number;
  solarize: number;
}

/** BYOL's asymmetric probabilities; the scale view uses view 2's. */
export const VIEW_PROBABILITIES: Readonly<Record<'1' | '2', Readonly<ViewProbabilities>>> = {
  '1': { flip: 0.5, colorJitter: 0.8, grayscale: 0.2, blur: 1.0, solarize: 0.0 },
  '2': { flip: 0.5, colorJitter: 0.8, grayscale: 0.2, blur: 0.1, solarize: 0.2 },
};

export function viewProbabilities(view: ViewKind): Readonly<ViewProbabilities> {
  return VIEW_PROBABILITIES[view === 1 ? '1' : '2'];
}

/** ColorJitter strengths (BYOL: brightness 0.4, contrast 0.4, saturation 0.2, hue 0.1). */
export const COLOR_JITTER = { brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1 } as const;
export const CROP_RATIO: readonly [number, number] = [3 / 4, 4 / 3];
export const BLUR_SIGMA: readonly [number, number] = [0.1, 2.0];
export const SOLARIZE_THRESHOLD = 0.5;
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];
/** ITU-R 601-2 luma, torchvision's rgb_to_grayscale weights. */
export const GRAY_WEIGHTS: readonly [number, number, number] = [0.2989, 0.587, 0.114];

/** Odd kernel of ~10% of the view side: 23 at 224 (BYOL), 9 at 96, 11 at 112. */
export function blurKernelSize(size: number): number {
  return 2 * Math.floor(size * 0.05) + 1;
}

// ---------------------------------------------------------------------------------------------
// Parameter sampling (no tensors)

export interface CropParams {
  /** Pixel rectangle in the source image. */
  top: number;
  left: number;
  height: number;
  width: number;
  /** The same rectangle as fractions of the source, [y1, x1, y2, x2], for visualising where a view came from. */
  box: [number, number, number, number];
}

/**
 * torchvision's RandomResizedCrop.get_params: up to 10 tries of (area fraction ~ U(scale),
 * log aspect ~ U(log ratio)) that fit inside the image, else the largest centre crop whose aspect
 * is clamped into `ratio`.
 */
export function sampleCropParams(
  rng: Rng,
  imageWidth: number,
  imageHeight: number,
  scale: readonly [number, number],
  ratio: readonly [number, number] = CROP_RATIO,
): CropParams {
  const area = imageWidth * imageHeight;
  const logR0 = Math.log(ratio[0]);
  const logR1 = Math.log(ratio[1]);
  const make = (top: number, left: number, height: number, width: number): CropParams => ({
    top,
    left,
    height,
    width,
    box: [top / imageHeight, left / imageWidth, (top + height) / imageHeight, (left + width) / imageWidth],
  });
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logR0, logR1));
    const w = Math.round(Math.sqrt(targetArea * aspect));
    const h = Math.round(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= imageWidth && h > 0 && h <= imageHeight) {
      const top = rng.int(imageHeight - h + 1);
      const left = rng.int(imageWidth - w + 1);
      return make(top, left, h, w);
    }
  }
  const inRatio = imageWidth / imageHeight;
  let w = imageWidth;
  let h = imageHeight;
  if (inRatio < Math.min(ratio[0], ratio[1])) h = Math.round(w / Math.min(ratio[0], ratio[1]));
  else if (inRatio > Math.max(ratio[0], ratio[1])) w = Math.round(h * Math.max(ratio[0], ratio[1]));
  return make(Math.floor((imageHeight - h) / 2), Math.floor((imageWidth - w) / 2), h, w);
}

export const JITTER_OPS = ['brightness', 'contrast', 'saturation', 'hue'] as const;
export type JitterOp = (typeof JITTER_OPS)[number];

export interface JitterParams {
  /** Application order (a permutation of JITTER_OPS), as torchvision's randperm(4). */
  order: JitterOp[];
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
}

export interface ViewParams {
  crop: CropParams;
  flip: boolean;
  /** null when colour jitter is not applied to this image. */
  jitter: JitterParams | null;
  grayscale: boolean;
  /** Gaussian sigma in output pixels, or null for no blur. */
  blurSigma: number | null;
  solarize: boolean;
}

/**
 * Draws every random choice for one image's view. The number of draws is fixed except inside
 * the crop's retry loop, so probabilities can change without shifting unrelated choices much.
 */
export function sampleViewParams(
  rng: Rng,
  image: { width: number; height: number },
  spec: ViewSpec,
): ViewParams {
  const p = viewProbabilities(spec.view);
  const crop = sampleCropParams(rng, image.width, image.height, [spec.minCropScale, 1]);
  const flip = rng.bernoulli(p.flip);
  const jitterOn = rng.bernoulli(p.colorJitter);
  const order = rng.permutation(4).map((i) => JITTER_OPS[i]!);
  const { brightness: b, contrast: c, saturation: s, hue: h } = COLOR_JITTER;
  const brightness = rng.uniform(Math.max(0, 1 - b), 1 + b);
  const contrast = rng.uniform(Math.max(0, 1 - c), 1 + c);
  const saturation = rng.uniform(Math.max(0, 1 - s), 1 + s);
  const hue = rng.uniform(-h, h);
  const grayscale = rng.bernoulli(p.grayscale);
  const blurOn = rng.bernoulli(p.blur);
  const sigma = rng.uniform(BLUR_SIGMA[0], BLUR_SIGMA[1]);
  const solarize = rng.bernoulli(p.solarize);
  return {
    crop,
    flip,
    jitter: jitterOn ? { order, brightness, contrast, saturation, hue } : null,
    grayscale,
    blurSigma: blurOn ? sigma : null,
    solarize,
  };
}

/** torchvision's _get_gaussian_kernel1d: samples of exp(−x²/2σ²) at integer offsets, normalised. */
export function gaussianKernel1d(kernelSize: number, sigma: number): Float32Array {
  const half = (kernelSize - 1) / 2;
  const k = new Float32Array(kernelSize);
  let sum = 0;
  for (let i = 0; i < kernelSize; i++) {
    const x = (i - half) / sigma;
    k[i] = Math.exp(-0.5 * x * x);
    sum += k[i]!;
  }
  for (let i = 0; i < kernelSize; i++) k[i] = k[i]! / sum;
  return k;
}

/** Samples params for every image from `rng`, in batch order. */
export function sampleViewBatchParams(
  images: readonly { width: number; height: number }[],
  rng: Rng,
  spec: ViewSpec,
): ViewParams[] {
  if (!Number.isInteger(spec.size) || spec.size < 2)
    throw new Error(`augment: view size must be an integer ≥ 2, got ${spec.size}`);
  if (!(spec.minCropScale > 0 && spec.minCropScale <= 1))
    throw new Error(`augment: minCropScale must be in (0, 1], got ${spec.minCropScale}`);
  return images.map((img) => sampleViewParams(rng, img, spec));
}
