/**
 * From the run config's `data` section to what the trainer consumes: the decoded image set
 * (demo scenes or a folder) at the cache resolution, and the view specs of the method.
 */
import type { PretrainConfig } from '../../../shared/config/pretrain';
import type { ViewSpec } from './augment';
import { generateDemoScenes } from './demo-scenes';
import { type SkippedFile, loadImageFolder } from './image-folder';
import type { RawImage } from './raw-image';

/**
 * The demo dataset does not follow the run seed: runs that differ only in their seed should train
 * and evaluate on the same images, as they would on a real dataset.
 */
export const DEMO_DATASET_SEED = 0;

export interface PretrainImages {
  images: RawImage[];
  skipped: SkippedFile[];
  /** `demo` or the folder path. */
  source: string;
  /** Short side (demo: side) the images are stored at. */
  shortSide: number;
}

/** Stored short side: imageSize × cacheScale, so a full-image crop is still downscaled, not blown up. */
export function cacheShortSide(data: Pick<PretrainConfig['data'], 'imageSize' | 'cacheScale'>): number {
  return Math.round(data.imageSize * data.cacheScale);
}

export async function loadPretrainImages(
  data: PretrainConfig['data'],
  options: { onProgress?: (done: number, total: number, file: string) => void; demoSeed?: number } = {},
): Promise<PretrainImages> {
  const shortSide = cacheShortSide(data);
  if (data.source === 'demo') {
    const { images } = generateDemoScenes({
      count: data.demoImages,
      size: shortSide,
      seed: options.demoSeed ?? DEMO_DATASET_SEED,
    });
    options.onProgress?.(images.length, images.length, 'demo');
    return { images, skipped: [], source: 'demo', shortSide };
  }
  const { images, skipped } = await loadImageFolder(data.source, {
    shortSide,
    onProgress: options.onProgress,
  });
  return { images, skipped, source: data.source, shortSide };
}

/**
 * The views each training step needs: BYOL's two large views (probabilities of view 1 and 2);
 * Self-EMD adds the small scale view when `emd.scaleView` is on.
 */
export function pretrainViewSpecs(config: Pick<PretrainConfig, 'method' | 'data' | 'emd'>): ViewSpec[] {
  const { imageSize, minCropScale } = config.data;
  const specs: ViewSpec[] = [
    { size: imageSize, minCropScale, view: 1 },
    { size: imageSize, minCropScale, view: 2 },
  ];
  if (config.method === 'self-emd' && config.emd.scaleView)
    specs.push({ size: config.emd.scaleViewSize, minCropScale, view: 'scale' });
  return specs;
}
