/**
 * The images behind a dataset or a run, wherever they come from (generated demo scenes, files under a
 * folder), and small thumbnails of them as PNG data URLs for the renderer. A file is read only when
 * it resolves (symlinks included) inside its source's folder: an index edited, or a link swapped
 * after the import, cannot make the server read anything else.
 */
import sharp from 'sharp';
import type { DatasetRecord, RunRecord } from '../../../shared/dto';
import type { DemoSplit } from '../../../shared/api/types';
import { decodeImageFile, scanImageFolder } from '../../engine/data/image-folder';
import { resolveInsideFolder } from '../../engine/data/inside-folder';
import type { ExperimentStore } from '../../store';
import { readDatasetIndex, type DatasetIndex } from './dataset-index';
import { demoScene } from './demo-datasets';
import { failed, notFound } from './api-errors';

export type ImageSource =
  | { kind: 'demo'; split: DemoSplit; count: number; seed?: number; names: string[] }
  | { kind: 'files'; root: string; files: string[] };

export function datasetSource(home: string, dataset: DatasetRecord): ImageSource {
  const index = readDatasetIndex(home, dataset.id);
  if (!index) throw failed(`dataset "${dataset.name}" has no image index`, 'Import it again.');
  return sourceFromIndex(index);
}

export function sourceFromIndex(index: DatasetIndex): ImageSource {
  if (index.demo)
    return {
      kind: 'demo',
      split: index.demo.stream,
      count: index.demo.count,
      seed: index.demo.seed,
      names: index.images.map((i) => i.file),
    };
  return { kind: 'files', root: index.imageRoot!, files: index.images.map((i) => i.file) };
}

/** The data a run trained on: its dataset's images, or (runs made by the CLI) its config's source. */
export async function runSource(home: string, store: ExperimentStore, run: RunRecord): Promise<ImageSource> {
  if (run.datasetId !== null) return datasetSource(home, store.getDataset(run.datasetId));
  const data = (run.config as { data?: { source?: unknown; demoImages?: unknown } }).data;
  if (data?.source === 'demo') {
    const count = typeof data.demoImages === 'number' ? data.demoImages : 0;
    return {
      kind: 'demo',
      split: 'train',
      count,
      names: Array.from({ length: count }, (_, i) => `demo/train/${String(i + 1).padStart(6, '0')}.png`),
    };
  }
  if (typeof data?.source === 'string')
    return { kind: 'files', root: data.source, files: await scanImageFolder(data.source) };
  throw notFound(`run ${run.id} records no training data`);
}

export function sourceSize(source: ImageSource): number {
  return source.kind === 'demo' ? source.count : source.files.length;
}

export function sourceName(source: ImageSource, index: number): string {
  return source.kind === 'demo' ? (source.names[index] ?? `scene ${index + 1}`) : source.files[index]!;
}

function checkIndex(source: ImageSource, index: number): void {
  if (index >= sourceSize(source))
    throw notFound(`image ${index} does not exist (the data has ${sourceSize(source)} images)`);
}

/** The real path of a file source's image `index`, refused when it leads out of the source's folder. */
function fileInside(source: Extract<ImageSource, { kind: 'files' }>, index: number): string {
  const name = source.files[index]!;
  const r = resolveInsideFolder(source.root, name);
  if (r.ok) return r.path;
  if (r.missing) throw notFound(`${name}: the image file is gone (${r.reason})`);
  throw failed(`${name}: refused, ${r.reason}`);
}

/** A square thumbnail, centre-cropped, as a PNG data URL. */
export function thumbnail(source: ImageSource, index: number, size: number): Promise<string> {
  return imageDataUrl(source, index, size, 'cover');
}

/**
 * The whole image, its long side at most `size` and never enlarged, as a PNG data URL (a dataset's
 * image viewer). `original` is its size as imported.
 */
export function preview(
  source: ImageSource,
  index: number,
  size: number,
  original: { width: number; height: number },
): Promise<string> {
  const shortSide = Math.min(...previewShape(original.width, original.height, size));
  return imageDataUrl(source, index, size, 'inside', shortSide);
}

/** The preview's [height, width] for an image of `width` × `height`: long side at most `size`, never enlarged. */
export function previewShape(width: number, height: number, size: number): [number, number] {
  const scale = Math.min(1, size / Math.max(width, height));
  return [Math.max(1, Math.round(height * scale)), Math.max(1, Math.round(width * scale))];
}

async function imageDataUrl(
  source: ImageSource,
  index: number,
  size: number,
  fit: 'cover' | 'inside',
  decodeShortSide = size,
): Promise<string> {
  checkIndex(source, index);
  let pipeline: sharp.Sharp;
  if (source.kind === 'demo') {
    const img = demoScene(source.split, index, source.seed).image;
    pipeline = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
  } else {
    const file = fileInside(source, index);
    let raw;
    try {
      raw = await decodeImageFile(file, decodeShortSide);
    } catch (e) {
      throw failed(`${source.files[index]}: ${(e as Error).message}`);
    }
    pipeline = sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: 3 } });
  }
  const png = await pipeline
    .resize({ width: size, height: size, fit, withoutEnlargement: fit === 'inside' })
    .png({ compressionLevel: 6 })
    .toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

/** What the transport task needs to find an image: a file, or a demo scene's index. */
export function transportImage(source: ImageSource, index: number): { path: string } | { demoIndex: number } {
  checkIndex(source, index);
  if (source.kind === 'demo') return { demoIndex: index };
  return { path: fileInside(source, index) };
}
