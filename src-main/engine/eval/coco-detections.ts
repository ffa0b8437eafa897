/**
 * Reads a COCO results file (a JSON array of {image_id, category_id, bbox, score} and, for instance
 * masks, `segmentation`: an RLE, counts compressed or not) with the same per-entry validation as the
 * importers: bad entries are reported with their JSONPath and skipped, the rest is returned. With
 * `gt`, detections on unknown images (which pycocotools' loadRes refuses outright) or of unknown
 * categories, and masks whose size is not their image's, are reported and skipped too. An entry with
 * a mask and no bbox gets the mask's box, as loadRes gives it. Pure TypeScript: the caller reads the
 * file. `detectionWithMask` turns a predicted mask into a results entry's segmentation.
 */
import type { ImportProblem } from '../data/importers/labelled-dataset';
import { parseJsonLocated } from '../data/importers/json-syntax';
import type { BinaryMask, CocoRle } from '../data/masks/mask-types';
import { encodeMask, rleToBbox } from '../data/masks/rle';
import { compressRle } from '../data/masks/rle-string';
import { toPlainRle } from '../data/masks/segmentation';
import type { CocoBox, CocoDataset, CocoDetection } from './coco-types';

export interface CocoDetectionsOptions {
  /** Check image and category ids against this ground truth. */
  gt?: CocoDataset;
  /** Name used in the report. Default "detections". */
  file?: string;
}

export interface CocoDetectionsResult {
  detections: CocoDetection[];
  report: ImportProblem[];
  /**
   * Whether the file's first entry has a (non-empty) bbox: pycocotools' loadRes then gives every
   * detection its box's area, also when evaluating masks (evaluateCoco's `dtAreaFromBox`).
   */
  firstHasBox: boolean;
}

/** A detection's results entry with its mask (results format: RLE with compressed counts). */
export function detectionWithMask(det: CocoDetection, mask: BinaryMask): CocoDetection {
  return { ...det, segmentation: compressRle(encodeMask(mask)) };
}

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

export function cocoDetectionsFromJson(text: string, opts: CocoDetectionsOptions = {}): CocoDetectionsResult {
  const file = opts.file ?? 'detections';
  const report: ImportProblem[] = [];
  const detections: CocoDetection[] = [];
  const problem = (p: string, jsonPath: string) => report.push({ file, problem: p, jsonPath });
  let firstHasBox = false;
  const parsed = parseJsonLocated(text);
  if (!parsed.ok) {
    const e = parsed.error;
    report.push({
      file,
      problem: `JSON syntax error at line ${e.line}, column ${e.column} (offset ${e.offset}): ${e.message}; nothing loaded`,
      line: e.line,
    });
    return { detections, report, firstHasBox };
  }
  let entries: unknown[];
  let prefix = '$';
  const v = parsed.value;
  if (Array.isArray(v)) entries = v;
  else if (
    typeof v === 'object' &&
    v !== null &&
    Array.isArray((v as { annotations?: unknown }).annotations)
  ) {
    entries = (v as { annotations: unknown[] }).annotations;
    prefix = '$.annotations';
  } else {
    problem('expected a JSON array of detections; nothing loaded', '$');
    return { detections, report, firstHasBox };
  }
  const first = entries[0] as { bbox?: unknown } | undefined;
  firstHasBox = Array.isArray(first?.bbox) && first.bbox.length > 0;
  const sizes = opts.gt ? new Map(opts.gt.images.map((im) => [im.id, im])) : null;
  const cats = opts.gt ? new Set(opts.gt.categories.map((c) => c.id)) : null;
  entries.forEach((d, k) => {
    const at = `${prefix}[${k}]`;
    if (typeof d !== 'object' || d === null || Array.isArray(d))
      return problem('detection is not an object: skipped', at);
    const e = d as Record<string, unknown>;
    if (!isId(e.image_id))
      return problem(`image_id ${JSON.stringify(e.image_id)} is not an integer: skipped`, `${at}.image_id`);
    if (!isId(e.category_id)) {
      return problem(
        `category_id ${JSON.stringify(e.category_id)} is not an integer: skipped`,
        `${at}.category_id`,
      );
    }
    if (sizes && !sizes.has(e.image_id))
      return problem(`unknown image_id ${e.image_id}: skipped`, `${at}.image_id`);
    if (cats && !cats.has(e.category_id))
      return problem(`unknown category_id ${e.category_id}: skipped`, `${at}.category_id`);
    let segmentation: CocoRle | undefined;
    if (e.segmentation !== undefined) {
      const mask = readMask(e.segmentation, sizes?.get(e.image_id));
      if (typeof mask === 'string') return problem(`${mask}: skipped`, `${at}.segmentation`);
      segmentation = mask.given;
      // loadRes gives a mask result without a box the mask's box
      if (e.bbox === undefined) e.bbox = rleToBbox(mask.rle);
    }
    const b = e.bbox;
    if (!Array.isArray(b) || b.length !== 4 || !b.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      return problem(`bbox ${JSON.stringify(b)} is not four finite numbers: skipped`, `${at}.bbox`);
    }
    if (b[2] < 0 || b[3] < 0)
      return problem(`bbox ${JSON.stringify(b)} has a negative size: skipped`, `${at}.bbox`);
    if (typeof e.score !== 'number' || !Number.isFinite(e.score)) {
      return problem(`score ${JSON.stringify(e.score)} is not a finite number: skipped`, `${at}.score`);
    }
    if (b[2] === 0 || b[3] === 0)
      problem('zero-area bbox: kept (it can only be a false positive)', `${at}.bbox`);
    detections.push({
      image_id: e.image_id,
      category_id: e.category_id,
      bbox: [b[0], b[1], b[2], b[3]] as CocoBox,
      score: e.score,
      ...(segmentation ? { segmentation } : {}),
    });
  });
  return { detections, report, firstHasBox };
}

/** A results entry's mask, or what is wrong with it. */
function readMask(
  seg: unknown,
  image: { width?: number; height?: number } | undefined,
): { given: CocoRle; rle: ReturnType<typeof toPlainRle> } | string {
  if (typeof seg !== 'object' || seg === null || Array.isArray(seg))
    return 'segmentation is not an RLE {size, counts} (results masks are RLE, as pycocotools reads them)';
  const { size, counts } = seg as { size?: unknown; counts?: unknown };
  if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isSafeInteger(v) && v >= 0))
    return `segmentation size ${JSON.stringify(size)} is not [height, width]`;
  if (typeof counts !== 'string' && !(Array.isArray(counts) && counts.every((c) => typeof c === 'number')))
    return 'segmentation counts are neither a compressed string nor a list of numbers';
  const given: CocoRle = { size: [size[0], size[1]], counts };
  let rle;
  try {
    rle = toPlainRle(given);
  } catch (err) {
    return `segmentation: ${(err as Error).message}`;
  }
  if (
    image?.height !== undefined &&
    image.width !== undefined &&
    (size[0] !== image.height || size[1] !== image.width)
  )
    return `segmentation size [${size.join(', ')}] (height, width) is not the image's [${image.height}, ${image.width}]`;
  return { given, rle };
}
