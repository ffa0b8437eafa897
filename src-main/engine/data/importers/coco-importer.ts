/**
 * COCO "instances" JSON importer. Ids are kept as in the file. Every bad entry is reported with the
 * JSONPath of the entry and skipped (a bad segmentation only loses the mask: the box is kept); images whose file is missing or unreadable are skipped together
 * with their annotations, and so are `file_name`s that lead out of the image folder (`../`, absolute
 * paths elsewhere, symlinks pointing out): those are never opened. The image folder is the one given,
 * else the usual layout's (coco-layout.ts). NaN / Infinity tokens (Python's json.dump) are read as
 * non-numbers, so the entries holding them are reported. Throws when the annotation file or the
 * image folder cannot be read, when it has no usable category, or when no folder tried holds any of
 * the images (naming the folders tried).
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { resolveInsideFolder } from '../inside-folder';
import { checkSegmentation, type SegmentationVerdict } from '../masks/segmentation-check';
import { checkBox } from './box-check';
import { findCocoAnnotationFiles, findCocoImageDir } from './coco-layout';
import { mapLimit, probeImage } from './image-probe';
import { parseJsonLocated } from './json-syntax';
import type {
  ImportProblem,
  ImportResult,
  LabelledAnnotation,
  LabelledCategory,
  LabelledDataset,
  LabelledImage,
} from './labelled-dataset';

export interface CocoImportOptions {
  /**
   * Folder that `file_name` is relative to, and that every image must stay inside. Default: the
   * candidate folder of the usual layouts holding the most of the images (coco-layout.ts).
   */
  imageDir?: string;
  /** Image headers read at once. Default 8. */
  concurrency?: number;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

export async function importCoco(
  annotationFile: string,
  opts: CocoImportOptions = {},
): Promise<ImportResult> {
  const file = await cocoAnnotationFile(annotationFile);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`COCO annotation file ${file} cannot be read: ${(err as Error).message}`);
  }
  let imageDir = opts.imageDir === undefined ? undefined : path.resolve(opts.imageDir);
  if (imageDir !== undefined) {
    try {
      if (!(await stat(imageDir)).isDirectory()) throw new Error('not a folder');
    } catch (err) {
      throw new Error(`COCO image folder ${imageDir} cannot be read: ${(err as Error).message}`);
    }
  }

  const report: ImportProblem[] = [];
  const problem = (p: string, jsonPath?: string) =>
    report.push(jsonPath ? { file, problem: p, jsonPath } : { file, problem: p });
  const dataset: LabelledDataset = { images: [], annotations: [], categories: [] };

  const parsed = parseJsonLocated(text, { nonFinite: true });
  if (!parsed.ok) {
    const e = parsed.error;
    report.push({
      file,
      problem: `JSON syntax error at line ${e.line}, column ${e.column} (offset ${e.offset}): ${e.message}; nothing imported`,
      line: e.line,
    });
    return { dataset, report };
  }
  const root = parsed.value;
  if (!isObject(root)) {
    problem('top level is not a JSON object with images, annotations and categories; nothing imported', '$');
    return { dataset, report };
  }
  if (parsed.nonFinite > 0)
    problem(
      `${parsed.nonFinite} NaN / Infinity value(s) (Python's json.dump writes them; JSON has none): each entry holding one is reported below`,
    );
  const list = (key: string): unknown[] => {
    const v = root[key];
    if (Array.isArray(v)) return v;
    problem(v === undefined ? `missing "${key}" array` : `"${key}" is not an array: ignored`, `$.${key}`);
    return [];
  };

  // ---- categories
  const categories = new Map<number, { cat: LabelledCategory; at: string }>();
  list('categories').forEach((c, k) => {
    const at = `$.categories[${k}]`;
    if (!isObject(c)) return problem('category is not an object: skipped', at);
    if (!isId(c.id))
      return problem(`category id ${JSON.stringify(c.id)} is not an integer: skipped`, `${at}.id`);
    if (typeof c.name !== 'string' || c.name.trim() === '')
      return problem('category has no name: skipped', `${at}.name`);
    const first = categories.get(c.id);
    if (first) return problem(`duplicate category id ${c.id} (first at ${first.at}): skipped`, `${at}.id`);
    categories.set(c.id, { cat: { id: c.id, name: c.name }, at });
  });
  dataset.categories = [...categories.values()].map((c) => c.cat);
  // Without a category list no annotation can be kept: one message, not a report entry per object.
  if (categories.size === 0)
    throw new Error(
      `COCO annotation file ${file} has no categories (${Array.isArray(root.categories) ? (root.categories.length ? 'none of its "categories" is usable' : '"categories" is empty') : 'no "categories" array'}): a detection dataset needs its category list`,
    );

  // ---- images: structure first, then the files (in parallel)
  interface Candidate {
    id: number;
    fileName: string;
    width?: number;
    height?: number;
    at: string;
  }
  const candidates: Candidate[] = [];
  const imageAt = new Map<number, string>();
  list('images').forEach((im, k) => {
    const at = `$.images[${k}]`;
    if (!isObject(im)) return problem('image is not an object: skipped', at);
    if (!isId(im.id))
      return problem(`image id ${JSON.stringify(im.id)} is not an integer: skipped`, `${at}.id`);
    if (typeof im.file_name !== 'string' || im.file_name === '')
      return problem('image has no file_name: skipped', `${at}.file_name`);
    const first = imageAt.get(im.id);
    if (first) return problem(`duplicate image id ${im.id} (first at ${first}): skipped`, `${at}.id`);
    imageAt.set(im.id, at);
    const dim = (key: 'width' | 'height') => {
      const v = im[key];
      if (v === undefined) return undefined;
      if (typeof v === 'number' && v > 0 && Number.isFinite(v)) return v;
      problem(
        `image ${key} ${JSON.stringify(v)} is not a positive number: the file's size is used`,
        `${at}.${key}`,
      );
      return undefined;
    };
    candidates.push({ id: im.id, fileName: im.file_name, width: dim('width'), height: dim('height'), at });
  });
  /** The folders looked in, when none of the usual ones holds any image (for the error below). */
  let tried: string[] | null = null;
  if (imageDir === undefined && candidates.length > 0) {
    const choice = await findCocoImageDir(
      file,
      candidates.map((c) => c.fileName),
    );
    if (choice.dir === null) tried = choice.tried;
    else imageDir = choice.dir;
  }
  const folder = imageDir ?? path.dirname(file);
  // every path is checked before anything is opened: one that leaves the folder is never probed
  const inside = candidates.map((c) => resolveInsideFolder(folder, c.fileName));
  const probes = await mapLimit(candidates, opts.concurrency ?? 8, (_c, k) => {
    const r = inside[k]!;
    return r.ok ? probeImage(r.path) : Promise.resolve(null);
  });
  const images = new Map<number, LabelledImage>();
  /** image id -> the problem that made us skip it, so its annotations can be counted there */
  const skippedImages = new Map<number, { at: string; count: number; reason: string }>();
  candidates.forEach((c, k) => {
    const probe = probes[k];
    const abs = path.resolve(folder, c.fileName);
    const where = inside[k]!;
    if (!where.ok) {
      if (where.missing)
        skippedImages.set(c.id, { at: c.at, count: 0, reason: `image file not found: ${abs}` });
      else
        skippedImages.set(c.id, {
          at: `${c.at}.file_name`,
          count: 0,
          reason: `file_name ${where.reason}: never opened`,
        });
      return;
    }
    if (!probe || !probe.ok) {
      skippedImages.set(c.id, { at: c.at, count: 0, reason: `${probe?.reason ?? 'not probed'}: ${abs}` });
      return;
    }
    if (
      (c.width !== undefined && c.width !== probe.width) ||
      (c.height !== undefined && c.height !== probe.height)
    ) {
      problem(
        `declared size ${c.width ?? '?'}×${c.height ?? '?'} differs from the file's ${probe.width}×${probe.height}: using the file's size`,
        c.at,
      );
    }
    images.set(c.id, { id: c.id, file: abs, width: probe.width, height: probe.height });
  });
  dataset.images = [...images.values()];
  if (tried && images.size === 0 && inside.every((r) => !r.ok && r.missing))
    throw new Error(
      `COCO images of ${file} not found: none of its ${candidates.length} file_name(s) (e.g. "${candidates[0]!.fileName}") is in ${tried.join(', ')}; give the image folder explicitly`,
    );

  // ---- annotations
  const annAt = new Map<number, string>();
  list('annotations').forEach((a, k) => {
    const at = `$.annotations[${k}]`;
    if (!isObject(a)) return problem('annotation is not an object: skipped', at);
    if (!isId(a.id))
      return problem(`annotation id ${JSON.stringify(a.id)} is not an integer: skipped`, `${at}.id`);
    const first = annAt.get(a.id);
    if (first) return problem(`duplicate annotation id ${a.id} (first at ${first}): skipped`, `${at}.id`);
    annAt.set(a.id, at);
    if (!isId(a.image_id))
      return problem(`image_id ${JSON.stringify(a.image_id)} is not an integer: skipped`, `${at}.image_id`);
    const skipped = skippedImages.get(a.image_id);
    if (skipped) {
      skipped.count++;
      return;
    }
    const image = images.get(a.image_id);
    if (!image) return problem(`unknown image_id ${a.image_id}: skipped`, `${at}.image_id`);
    if (!isId(a.category_id) || !categories.has(a.category_id)) {
      return problem(`unknown category_id ${JSON.stringify(a.category_id)}: skipped`, `${at}.category_id`);
    }
    if (!Array.isArray(a.bbox)) return problem('annotation has no bbox array: skipped', `${at}.bbox`);
    const verdict = checkBox(a.bbox as number[], image.width, image.height);
    if (verdict.kind === 'skip') return problem(verdict.problem, `${at}.bbox`);
    if (verdict.kind === 'clipped') problem(verdict.problem, `${at}.bbox`);
    let iscrowd: 0 | 1 = 0;
    if (a.iscrowd !== undefined && a.iscrowd !== 0 && a.iscrowd !== false) {
      if (a.iscrowd === 1 || a.iscrowd === true) iscrowd = 1;
      else problem(`iscrowd ${JSON.stringify(a.iscrowd)} is neither 0 nor 1: treated as 0`, `${at}.iscrowd`);
    }
    const boxArea = verdict.bbox[2] * verdict.bbox[3];
    let area = boxArea;
    if (a.area !== undefined) {
      if (typeof a.area === 'number' && Number.isFinite(a.area) && a.area >= 0) {
        // the segmentation's area is what COCO buckets small/medium/large by; keep it unless the
        // box was clipped, when it can no longer be trusted to lie inside the kept box
        area = verdict.kind === 'clipped' ? Math.min(a.area, boxArea) : a.area;
      } else
        problem(
          `area ${JSON.stringify(a.area)} is not a non-negative number: using the box area`,
          `${at}.area`,
        );
    }
    // box-only exports write "segmentation": [] for every object: no mask, nothing to report
    let mask: SegmentationVerdict | null = null;
    const seg = a.segmentation;
    if (seg !== undefined && seg !== null && !(Array.isArray(seg) && seg.length === 0)) {
      mask = checkSegmentation(seg, image.width, image.height);
      if (mask.kind === 'skip')
        problem(`${mask.problem}: mask skipped, box kept`, `${at}.segmentation${mask.at}`);
    }
    const ann: LabelledAnnotation = {
      id: a.id,
      imageId: a.image_id,
      categoryId: a.category_id,
      bbox: verdict.bbox,
      area,
      iscrowd,
      ...(mask?.kind === 'ok' ? { segmentation: mask.segmentation } : {}),
      ...(verdict.kind === 'clipped' ? { clipped: true as const } : {}),
    };
    dataset.annotations.push(ann);
  });
  for (const [, s] of skippedImages) {
    problem(
      `${s.reason}; image skipped${s.count ? ` with its ${s.count} annotation${s.count > 1 ? 's' : ''}` : ''}`,
      s.at,
    );
  }
  return { dataset, report };
}

/**
 * The annotation file to read: the path itself, or, for a folder, its one COCO annotation file
 * (coco-layout.ts); a folder with none or several says which it found.
 */
export async function cocoAnnotationFile(p: string): Promise<string> {
  const abs = path.resolve(p);
  let isFolder = false;
  try {
    isFolder = (await stat(abs)).isDirectory();
  } catch {
    return abs; // reading it names the problem
  }
  if (!isFolder) return abs;
  const found = await findCocoAnnotationFiles(abs);
  if (found.length === 1) return found[0]!;
  if (found.length === 0)
    throw new Error(
      `${abs} is a folder without a COCO annotation file (looked for .json files with "images" in it, in annotations/ and <split>/_annotations.coco.json)`,
    );
  throw new Error(
    `${abs} holds ${found.length} COCO annotation files (${found.map((f) => path.relative(abs, f)).join(', ')}): import one of them`,
  );
}
