/**
 * Pascal VOC importer: Annotations/<id>.xml, JPEGImages/ (or another image folder the user names),
 * ImageSets/Main/<split>.txt.
 *
 * VOC corners are 1-based inclusive pixel indices, so a box xmin..xmax covers the continuous range
 * [xmin - 1, xmax]: bbox = [xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1]. (eval/voc's
 * cocoBoxToVoc inverts this exactly.) `difficult` is kept on the annotation; VOC has no crowd.
 *
 * Categories: `classes` if given (ids 1..N in that order, other names reported as unknown); else the
 * 20 standard VOC classes in their usual order when every name is one of them (ids stable across
 * splits); else the sorted set of names found. Images and annotations are numbered from 1 in split
 * order. Image and annotation paths (a `<filename>`, an id of the split list) that lead out of
 * JPEGImages/ or Annotations/ (`../`, absolute, symlinks pointing out) are reported and skipped,
 * never opened. An id of the split list without its annotation file is reported against the list's
 * line. Instance masks come from SegmentationObject/<id>.png where it exists (voc-instance-png.ts);
 * a bad one is reported and only the masks are dropped; an object with a mask gets the mask's area.
 * Throws only when the root, Annotations/ or the image folder is missing, or the split is unknown.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { resolveInsideFolder } from '../inside-folder';
import { rleArea, encodeLabelMap, type Rle } from '../masks/rle';
import { compressRle } from '../masks/rle-string';
import { checkBox } from './box-check';
import { mapLimit, probeImage } from './image-probe';
import type {
  ImportProblem,
  ImportResult,
  LabelledAnnotation,
  LabelledDataset,
  LabelledImage,
} from './labelled-dataset';
import { readVocInstancePng, VOC_VOID_INDEX, type VocInstanceMap } from './voc-instance-png';
import { parseXml, xmlChild, xmlChildren, xmlChildText, type XmlElement } from './xml';

export const VOC_CLASSES = [
  'aeroplane',
  'bicycle',
  'bird',
  'boat',
  'bottle',
  'bus',
  'car',
  'cat',
  'chair',
  'cow',
  'diningtable',
  'dog',
  'horse',
  'motorbike',
  'person',
  'pottedplant',
  'sheep',
  'sofa',
  'train',
  'tvmonitor',
] as const;

export interface VocImportOptions {
  /** Name of a list in ImageSets/Main (e.g. 'train', 'val', 'trainval', 'test'). Default: every XML. */
  split?: string;
  /** Fixed class list (ids 1..N). */
  classes?: string[];
  /** Folder of the images, absolute or relative to the root. Default: JPEGImages/. */
  imageDir?: string;
  /** Files read at once. Default 8. */
  concurrency?: number;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Split names available under ImageSets/Main (class-specific lists like dog_train are left out). */
export async function listVocSplits(root: string): Promise<string[]> {
  const dir = path.join(path.resolve(root), 'ImageSets', 'Main');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const classPrefixed = new RegExp(`^(${VOC_CLASSES.join('|')})_`);
  return names
    .filter((n) => n.endsWith('.txt') && !classPrefixed.test(n))
    .map((n) => n.slice(0, -4))
    .sort();
}

interface ParsedObject {
  /** 1-based position among the file's <object>s: the object's index in SegmentationObject PNGs. */
  index: number;
  name: string;
  difficult: boolean;
  corners: [number, number, number, number];
  line: number;
}

interface ParsedFile {
  xmlFile: string;
  imageFile: string | null;
  declared?: { width: number; height: number };
  objects: ParsedObject[];
}

/** Reads one annotation file; problems go to `report`; returns null when the file is unusable. */
async function readVocXml(
  xmlFile: string,
  imagesDir: string,
  id: string,
  report: ImportProblem[],
): Promise<ParsedFile | null> {
  const problem = (p: string, line?: number) =>
    report.push(line ? { file: xmlFile, problem: p, line } : { file: xmlFile, problem: p });
  let text: string;
  try {
    text = await readFile(xmlFile, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    problem(
      missing
        ? 'annotation file not found: image skipped'
        : `cannot read the annotation file (${(err as Error).message}): skipped`,
    );
    return null;
  }
  const parsed = parseXml(text);
  if (!parsed.ok) {
    const e = parsed.error;
    problem(`XML error at line ${e.line}, column ${e.column}: ${e.message}; file skipped`, e.line);
    return null;
  }
  const root = parsed.root;
  if (root.name !== 'annotation') {
    problem(`root element is <${root.name}>, expected <annotation>: file skipped`, root.line);
    return null;
  }
  // image file: <filename> if it names an existing file, else <id>.jpg; neither may leave JPEGImages/
  const filename = xmlChildText(root, 'filename');
  const candidates = [...(filename ? [filename] : []), `${id}.jpg`];
  let imageFile: string | null = null;
  for (const c of candidates) {
    const r = resolveInsideFolder(imagesDir, c);
    if (!r.ok && !r.missing) {
      problem(`image path ${r.reason}: image skipped, never opened`, root.line);
      return { xmlFile, imageFile: null, objects: [] };
    }
    const p = path.join(imagesDir, c);
    try {
      if (r.ok && (await stat(r.path)).isFile()) {
        imageFile = p;
        break;
      }
    } catch {
      // try the next name
    }
  }
  if (!imageFile) {
    problem(
      `image file not found (tried ${candidates.map((c) => path.join(imagesDir, c)).join(', ')}): skipped`,
      root.line,
    );
    return { xmlFile, imageFile: null, objects: [] };
  }
  let declared: ParsedFile['declared'];
  const size = xmlChild(root, 'size');
  if (size) {
    const w = Number(xmlChildText(size, 'width'));
    const h = Number(xmlChildText(size, 'height'));
    if (w > 0 && h > 0) declared = { width: w, height: h };
  }
  const objects: ParsedObject[] = [];
  xmlChildren(root, 'object').forEach((obj, k) => {
    const parsedObj = readObject(obj, k + 1);
    if (typeof parsedObj === 'string') problem(`${parsedObj}: object skipped`, obj.line);
    else objects.push(parsedObj);
  });
  return { xmlFile, imageFile, declared, objects };
}

function readObject(obj: XmlElement, index: number): ParsedObject | string {
  const name = xmlChildText(obj, 'name');
  if (!name) return '<object> without <name>';
  const difficultText = xmlChildText(obj, 'difficult');
  let difficult = false;
  if (difficultText !== undefined && difficultText !== '') {
    if (difficultText === '1' || difficultText === 'true') difficult = true;
    else if (difficultText !== '0' && difficultText !== 'false')
      return `<difficult> of "${name}" is ${JSON.stringify(difficultText)}, not 0 or 1`;
  }
  const box = xmlChild(obj, 'bndbox');
  if (!box) return `<object> "${name}" has no <bndbox>`;
  const corners: number[] = [];
  for (const k of ['xmin', 'ymin', 'xmax', 'ymax']) {
    const t = xmlChildText(box, k);
    const v = t === undefined || t === '' ? NaN : Number(t);
    if (!Number.isFinite(v))
      return `<bndbox> of "${name}" has ${t === undefined ? `no <${k}>` : `<${k}> ${JSON.stringify(t)}, not a number`}`;
    corners.push(v);
  }
  return { index, name, difficult, corners: corners as ParsedObject['corners'], line: obj.line };
}

export async function importVoc(root: string, opts: VocImportOptions = {}): Promise<ImportResult> {
  const base = path.resolve(root);
  if (!(await isDir(base))) throw new Error(`VOC dataset folder ${base} does not exist or is not a folder`);
  const annDir = path.join(base, 'Annotations');
  const imagesDir = path.resolve(base, opts.imageDir ?? 'JPEGImages');
  if (!(await isDir(annDir))) throw new Error(`VOC dataset ${base} has no Annotations/ folder`);
  if (!(await isDir(imagesDir)))
    throw new Error(
      opts.imageDir === undefined
        ? `VOC dataset ${base} has no JPEGImages/ folder (name its image folder explicitly if it has another)`
        : `VOC image folder ${imagesDir} does not exist or is not a folder`,
    );
  const report: ImportProblem[] = [];

  // ---- the image ids
  let ids: string[];
  /** Line of each id in the split list (none without a split). */
  const listLine = new Map<string, number>();
  const listFile = path.join(base, 'ImageSets', 'Main', `${opts.split ?? ''}.txt`);
  if (opts.split !== undefined) {
    let text: string;
    try {
      text = await readFile(listFile, 'utf8');
    } catch {
      const available = await listVocSplits(base);
      throw new Error(
        `VOC split "${opts.split}" not found: ${listFile} (available: ${available.length ? available.join(', ') : 'none'})`,
      );
    }
    ids = [];
    const firstLine = listLine;
    text.split(/\r?\n/).forEach((line, k) => {
      const id = line.trim().split(/\s+/)[0];
      if (!id) return;
      const first = firstLine.get(id);
      if (first !== undefined) {
        report.push({
          file: listFile,
          problem: `duplicate image id ${id} (first on line ${first}): skipped`,
          line: k + 1,
        });
        return;
      }
      firstLine.set(id, k + 1);
      ids.push(id);
    });
  } else {
    ids = (await readdir(annDir))
      .filter((n) => n.endsWith('.xml'))
      .map((n) => n.slice(0, -4))
      .sort();
  }

  // ---- read every XML and probe every image
  const concurrency = opts.concurrency ?? 8;
  const fileReports: ImportProblem[][] = ids.map(() => []);
  const files = await mapLimit(ids, concurrency, (id, k) => {
    // an id of the split list names Annotations/<id>.xml: it must not lead out of Annotations/
    const where = resolveInsideFolder(annDir, `${id}.xml`);
    if (!where.ok && !where.missing) {
      fileReports[k]!.push({
        file: opts.split === undefined ? path.join(annDir, `${id}.xml`) : listFile,
        problem: `image id ${JSON.stringify(id)}: ${where.reason}: skipped, never opened`,
      });
      return Promise.resolve(null);
    }
    const line = listLine.get(id);
    if (!where.ok && line !== undefined) {
      fileReports[k]!.push({
        file: listFile,
        line,
        problem: `image id ${id} is listed but ${path.join(annDir, `${id}.xml`)} does not exist: skipped`,
      });
      return Promise.resolve(null);
    }
    return readVocXml(path.join(annDir, `${id}.xml`), imagesDir, id, fileReports[k]!);
  });
  const probes = await mapLimit(files, concurrency, (f) =>
    f?.imageFile ? probeImage(f.imageFile) : Promise.resolve(null),
  );
  // instance masks where the dataset has them (VOC labels only its segmentation subset)
  const segDir = path.join(base, 'SegmentationObject');
  const hasSegDir = await isDir(segDir);
  const instancePngs = await mapLimit(files, concurrency, async (f, k) => {
    if (!hasSegDir || !f?.imageFile || f.objects.length === 0) return null;
    const where = resolveInsideFolder(segDir, `${ids[k]}.png`);
    if (!where.ok) return null; // absent (or leading out of the folder: never opened)
    return { file: where.path, map: await readVocInstancePng(where.path) };
  });

  // ---- categories
  const names = new Set<string>();
  for (const f of files) for (const o of f?.objects ?? []) names.add(o.name);
  let classList: string[];
  if (opts.classes) classList = opts.classes;
  else if ([...names].every((n) => (VOC_CLASSES as readonly string[]).includes(n)))
    classList = [...VOC_CLASSES];
  else classList = [...names].sort();
  const catId = new Map(classList.map((n, k) => [n, k + 1]));

  const dataset: LabelledDataset = {
    images: [],
    annotations: [],
    categories: classList.map((name, k) => ({ id: k + 1, name })),
  };
  files.forEach((f, k) => {
    report.push(...fileReports[k]!);
    if (!f || !f.imageFile) return;
    const problem = (p: string, line?: number) =>
      report.push(line ? { file: f.xmlFile, problem: p, line } : { file: f.xmlFile, problem: p });
    const probe = probes[k]!;
    if (!probe || !probe.ok) {
      problem(
        `${probe ? probe.reason : 'image not probed'}: ${f.imageFile}; image skipped with its ${f.objects.length} objects`,
      );
      return;
    }
    if (f.declared && (f.declared.width !== probe.width || f.declared.height !== probe.height)) {
      problem(
        `<size> says ${f.declared.width}×${f.declared.height} but the image is ${probe.width}×${probe.height}: using the image's size`,
      );
    }
    const image: LabelledImage = {
      id: dataset.images.length + 1,
      file: f.imageFile,
      width: probe.width,
      height: probe.height,
    };
    dataset.images.push(image);
    const masks = instanceMasks(instancePngs[k] ?? null, f, image, report);
    for (const o of f.objects) {
      const categoryId = catId.get(o.name);
      if (categoryId === undefined) {
        problem(`unknown category "${o.name}": object skipped`, o.line);
        continue;
      }
      const [xmin, ymin, xmax, ymax] = o.corners;
      const verdict = checkBox(
        [xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1],
        image.width,
        image.height,
      );
      const where = `"${o.name}" (xmin ${xmin}, ymin ${ymin}, xmax ${xmax}, ymax ${ymax})`;
      if (verdict.kind === 'skip') {
        problem(`${where}: ${verdict.problem}`, o.line);
        continue;
      }
      if (verdict.kind === 'clipped') problem(`${where}: ${verdict.problem}`, o.line);
      const mask = masks?.[o.index - 1];
      if (masks && !mask) {
        problem(
          `"${o.name}" (object ${o.index}) has no pixel in SegmentationObject/${path.basename(instancePngs[k]!.file)}: mask skipped, box kept`,
          o.line,
        );
      }
      const ann: LabelledAnnotation = {
        id: dataset.annotations.length + 1,
        imageId: image.id,
        categoryId,
        bbox: verdict.bbox,
        area: mask ? rleArea(mask) : verdict.bbox[2] * verdict.bbox[3],
        iscrowd: 0,
        difficult: o.difficult,
        ...(mask ? { segmentation: compressRle(mask) } : {}),
        ...(verdict.kind === 'clipped' ? { clipped: true as const } : {}),
      };
      dataset.annotations.push(ann);
    }
  });
  return { dataset, report };
}

/**
 * Per <object> (by 1-based index - 1) its mask from the image's SegmentationObject PNG, null where
 * the object has no pixel; null for all when there is no usable PNG (problems reported against it).
 * Void (255) pixels belong to no object; an index beyond the XML's objects is reported and ignored.
 */
function instanceMasks(
  png: { file: string; map: VocInstanceMap } | null,
  f: ParsedFile,
  image: LabelledImage,
  report: ImportProblem[],
): (Rle | null)[] | null {
  if (!png) return null;
  const { file, map } = png;
  if (!map.ok) {
    report.push({ file, problem: `${map.reason}: masks of this image skipped, boxes kept` });
    return null;
  }
  if (map.width !== image.width || map.height !== image.height) {
    report.push({
      file,
      problem: `instance PNG is ${map.width}×${map.height} but the image is ${image.width}×${image.height}: masks of this image skipped, boxes kept`,
    });
    return null;
  }
  const count = Math.max(0, ...f.objects.map((o) => o.index));
  const extra = new Set<number>();
  for (const v of map.indices) if (v > count && v !== VOC_VOID_INDEX) extra.add(v);
  if (extra.size > 0) {
    report.push({
      file,
      problem: `instance index ${[...extra].sort((a, b) => a - b).join(', ')} but the XML has ${count} object${count === 1 ? '' : 's'}: those pixels ignored`,
    });
  }
  // label l = index - 1; background (0 -> -1) and void (254) fall outside 0..count-1
  const labels = Int16Array.from(map.indices, (v) => v - 1);
  return encodeLabelMap(labels, map.height, map.width, count).map((r) => (rleArea(r) > 0 ? r : null));
}
