/**
 * Reads a COCO results file (a JSON array of {image_id, category_id, bbox, score}) with the same
 * per-entry validation as the importers: bad entries are reported with their JSONPath and skipped,
 * the rest is returned. With `gt`, detections on unknown images (which pycocotools' loadRes refuses
 * outright) or of unknown categories are reported and skipped too. Pure TypeScript: the caller reads
 * the file.
 */
import type { ImportProblem } from '../data/importers/labelled-dataset';
import { parseJsonLocated } from '../data/importers/json-syntax';
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
}

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

export function cocoDetectionsFromJson(text: string, opts: CocoDetectionsOptions = {}): CocoDetectionsResult {
  const file = opts.file ?? 'detections';
  const report: ImportProblem[] = [];
  const detections: CocoDetection[] = [];
  const problem = (p: string, jsonPath: string) => report.push({ file, problem: p, jsonPath });
  const parsed = parseJsonLocated(text);
  if (!parsed.ok) {
    const e = parsed.error;
    report.push({
      file,
      problem: `JSON syntax error at line ${e.line}, column ${e.column} (offset ${e.offset}): ${e.message}; nothing loaded`,
      line: e.line,
    });
    return { detections, report };
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
    return { detections, report };
  }
  const images = opts.gt ? new Set(opts.gt.images.map((im) => im.id)) : null;
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
    if (images && !images.has(e.image_id))
      return problem(`unknown image_id ${e.image_id}: skipped`, `${at}.image_id`);
    if (cats && !cats.has(e.category_id))
      return problem(`unknown category_id ${e.category_id}: skipped`, `${at}.category_id`);
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
    });
  });
  return { detections, report };
}
