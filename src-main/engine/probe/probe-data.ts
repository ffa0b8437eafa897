/**
 * The labelled boxes a pretraining run probes with (config.probe.data): the demo scenes' train and
 * val splits, or one imported dataset (COCO / VOC / YOLO) split in two — even-numbered images train
 * the probe, odd-numbered ones score it — so one flag is enough during pretraining.
 */
import type { PretrainConfig } from '../../../shared/config/pretrain';
import { demoSplit } from '../data/demo-scenes';
import { DEMO_DATASET_SEED } from '../data/pretrain-data';
import { loadImportedDataset } from '../detection/datasets';
import { detectionDatasetFromCoco, type DetectionDataset } from '../detection/inputs';

export interface ProbeData {
  train: DetectionDataset;
  val: DetectionDataset;
}

/** The images of `data` whose index has parity `parity`, with their annotations. */
export function alternateImages(data: DetectionDataset, parity: 0 | 1): DetectionDataset {
  const samples = data.samples.filter((_, i) => i % 2 === parity);
  const ids = new Set(samples.map((s) => s.imageId));
  return {
    samples,
    categories: data.categories,
    coco: {
      images: data.coco.images.filter((im) => ids.has(im.id)),
      annotations: data.coco.annotations.filter((a) => ids.has(a.image_id)),
      categories: data.coco.categories,
    },
  };
}

/** Loads config.probe.data at `size` px (short side); errors name the field. */
export async function loadProbeData(
  probe: PretrainConfig['probe'],
  size: number,
  log?: (message: string) => void,
): Promise<ProbeData> {
  if (probe.data === 'demo') {
    const split = demoSplit({
      train: probe.demoImages,
      val: probe.demoImages,
      size,
      seed: DEMO_DATASET_SEED,
    });
    return {
      train: detectionDatasetFromCoco(split.train.images, split.train.coco),
      val: detectionDatasetFromCoco(split.val.images, split.val.coco),
    };
  }
  let all: DetectionDataset;
  try {
    all = await loadImportedDataset(probe.data, size, log);
  } catch (e) {
    throw new Error(`probe.data ${probe.data}: ${(e as Error).message}`);
  }
  if (all.samples.length < 2)
    throw new Error(
      `probe.data ${probe.data}: ${all.samples.length} image(s); the probe needs 2 or more (half train, half val)`,
    );
  return { train: alternateImages(all, 0), val: alternateImages(all, 1) };
}
