/**
 * The images a pretraining run trains on: the built-in demo scenes or a folder of the user's,
 * decoded once and kept at `imageSize × cacheScale` short side so random crops stay sharp.
 */
import type { PretrainConfig } from '../../../shared/config/pretrain';
import { generateDemoScenes } from '../data/demo-scenes';
import { loadImageFolder, type SkippedFile } from '../data/image-folder';
import type { RawImage } from '../data/raw-image';

/** Every run sees the same demo scenes, whatever its own seed, so runs compare on equal data. */
export const DEMO_DATA_SEED = 2021;

export interface PretrainImages {
  images: RawImage[];
  skipped: SkippedFile[];
}

export async function loadPretrainImages(config: PretrainConfig, log?: (m: string) => void): Promise<PretrainImages> {
  const shortSide = Math.round(config.data.imageSize * config.data.cacheScale);
  if (config.data.source === 'demo') {
    const { images } = generateDemoScenes({ count: config.data.demoImages, size: shortSide, seed: DEMO_DATA_SEED, stream: 'train' });
    log?.(`demo dataset: ${images.length} generated scenes at ${shortSide} px`);
    return { images, skipped: [] };
  }
  let lastShown = 0;
  const loaded = await loadImageFolder(config.data.source, {
    shortSide,
    onProgress: (done, total) => {
      if (log && (done === total || done - lastShown >= 100)) {
        lastShown = done;
        log(`decoded ${done}/${total} images`);
      }
    },
  });
  for (const s of loaded.skipped) log?.(`skipped ${s.file}: ${s.reason}`);
  if (loaded.images.length === 0)
    throw new Error(`${config.data.source}: none of the image files could be decoded (${loaded.skipped.length} skipped)`);
  return loaded;
}
