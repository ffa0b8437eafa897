/**
 * The labelled images a fine-tuning run trains and evaluates on: the demo scenes' train / val
 * split (the train split is the pretraining set, as COCO train2017 is for the paper) or any dataset
 * the importers read (COCO JSON, VOC, YOLO), decoded once into memory. Images larger than needed
 * are stored with their short side at the largest size training or testing will resize to; boxes
 * follow, and detections are mapped back to the original pixels.
 */
import sharp from 'sharp';
import type { FinetuneConfig } from '../../../shared/config/finetune';
import { demoSplit } from '../data/demo-scenes';
import { mapLimit } from '../data/importers/image-probe';
import { importDataset, type ImportDatasetOptions } from '../data/importers/import-dataset';
import { toCocoJson } from '../data/importers/to-coco-json';
import type { RawImage } from '../data/raw-image';
import type { CocoDataset } from '../eval/coco-types';
import { categoryIdsByName, labelSetDifference } from '../../../shared/config/label-set';
import { detectionDatasetFromCoco, type DetectionCategory, type DetectionDataset } from './inputs';

export interface DetectionData {
  train: DetectionDataset;
  val: DetectionDataset;
}

export async function loadDetectionData(
  config: FinetuneConfig,
  log?: (message: string) => void,
): Promise<DetectionData> {
  const d = config.data;
  const needsDemo = d.train === 'demo' || d.val === 'demo';
  const demo = needsDemo
    ? demoSplit({ train: d.demoTrain, val: d.demoVal, size: d.demoSize, seed: d.demoSeed })
    : undefined;
  if (demo)
    log?.(`demo scenes: ${d.demoTrain} train / ${d.demoVal} val at ${d.demoSize} px (seed ${d.demoSeed})`);
  const shortSide = Math.max(d.minSizeTrain[1], d.minSizeTest);
  const load = async (
    source: string,
    which: 'train' | 'val',
    labelSet?: DetectionCategory[],
  ): Promise<DetectionDataset> => {
    if (source === 'demo') {
      const split = demo![which];
      return detectionDatasetFromCoco(split.images, labelSet ? relabel(split.coco, labelSet) : split.coco);
    }
    const split = which === 'train' ? d.trainSplit : d.valSplit;
    const imageDir = which === 'train' ? d.trainImages : d.valImages;
    return loadImportedDataset(source, shortSide, log, {
      split: split || undefined,
      imageDir: imageDir || undefined,
      labelSet,
    });
  };
  const train = await load(d.train, 'train');
  const sameSource =
    d.val === d.train && d.val !== 'demo' && d.valSplit === d.trainSplit && d.valImages === d.trainImages;
  // val is read in train's label set: the same names under other ids or in another order match
  const val = sameSource ? train : await load(d.val, 'val', train.categories);
  return { train, val };
}

/** Imports a dataset (COCO / VOC / YOLO), reports its problems, and decodes every image. */
export async function loadImportedDataset(
  source: string,
  shortSide: number,
  log?: (message: string) => void,
  options: Pick<ImportDatasetOptions, 'split' | 'imageDir'> & {
    /** Categories to express the dataset in, matched by name (a val set in its train set's ids). */
    labelSet?: DetectionCategory[];
  } = {},
): Promise<DetectionDataset> {
  const { labelSet, ...importOptions } = options;
  const { dataset, report } = await importDataset(source, importOptions);
  for (const p of report.slice(0, 20))
    log?.(`${p.file}${p.jsonPath ? ` ${p.jsonPath}` : p.line ? `:${p.line}` : ''}: ${p.problem}`);
  if (report.length > 20) log?.(`… and ${report.length - 20} more import problem(s)`);
  if (dataset.images.length === 0) throw new Error(`${source}: no usable images`);
  const imported: CocoDataset = toCocoJson(dataset);
  const coco = labelSet ? relabel(imported, labelSet, source) : imported;
  const images = await mapLimit(dataset.images, 4, async (im) => {
    try {
      return await decodeForDetection(im.file, im.width, im.height, shortSide);
    } catch (e) {
      throw new Error(`${im.file}: ${(e as Error).message}`);
    }
  });
  log?.(
    `${source}: ${images.length} images, ${coco.annotations.length} annotations, ${coco.categories.length} categories`,
  );
  return detectionDatasetFromCoco(images, coco);
}

/**
 * The dataset's ground truth in another dataset's category ids, matched by name; throws naming the
 * difference when the names are not the same set.
 */
function relabel(coco: CocoDataset, labelSet: DetectionCategory[], source = 'demo'): CocoDataset {
  const differs = labelSetDifference(labelSet, coco.categories, { train: 'data.train', val: 'data.val' });
  if (differs)
    throw new Error(
      `${source}: data.val's categories differ from data.train's (${differs}); a detector needs one label set`,
    );
  const toTrain = categoryIdsByName(labelSet, coco.categories);
  return {
    ...coco,
    categories: labelSet.map((c) => ({ id: c.id, name: c.name })),
    annotations: coco.annotations.map((a) => ({ ...a, category_id: toTrain.get(a.category_id)! })),
  };
}

/**
 * Decodes with EXIF orientation applied (the importers report post-EXIF sizes), alpha flattened on
 * black, as 8-bit sRGB; shrunk (never cropped) so the short side is at most `shortSide`.
 */
export async function decodeForDetection(
  file: string,
  width: number,
  height: number,
  shortSide: number,
): Promise<RawImage> {
  const scale = Math.min(1, shortSide / Math.min(width, height));
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  let pipeline = sharp(file, { failOn: 'warning' })
    .rotate()
    .flatten({ background: { r: 0, g: 0, b: 0 } })
    .toColourspace('srgb');
  if (w !== width || h !== height)
    pipeline = pipeline.resize({ width: w, height: h, fit: 'fill', kernel: 'lanczos3' });
  const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== w || info.height !== h)
    throw new Error(`decoder returned ${info.width}×${info.height}×${info.channels}, expected ${w}×${h}×3`);
  return {
    id: file,
    width: w,
    height: h,
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}
