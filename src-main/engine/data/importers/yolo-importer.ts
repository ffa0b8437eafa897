/**
 * YOLO (Ultralytics / darknet) importer: images under images/ (optionally images/<split>/), one
 * labels/.../<stem>.txt per image with lines `class cx cy w h` normalised to [0, 1] (segment lines
 * `class x1 y1 x2 y2 ...` give the box around their points and, when the polygon is usable, the
 * instance mask: a bad one is reported and only the mask is dropped), class names from data.yaml `names`
 * (list, flow list or index -> name mapping) or, failing that, a darknet classes.txt.
 *
 * The label of an image is found as Ultralytics does: the last "/images/" of its path becomes
 * "/labels/" and the extension ".txt"; an image without label file is a background image (no report).
 * Category ids are class index + 1 (0 stays free for "background" in detectors). Images and
 * annotations are numbered from 1 in sorted path order. Everything read stays inside the dataset
 * folder: a split folder of data.yaml elsewhere is not used, and images or labels that are symlinks
 * pointing out of it are reported and skipped, never opened. Throws only when the root or its image
 * folder is missing.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { resolveInsideFolder } from '../inside-folder';
import { checkSegmentation, type SegmentationVerdict } from '../masks/segmentation-check';
import { checkBox } from './box-check';
import { mapLimit, probeImage } from './image-probe';
import type { ImportProblem, ImportResult, LabelledDataset, LabelledImage } from './labelled-dataset';
import { parseYamlSubset, type YamlValue } from './yaml-subset';

export interface YoloImportOptions {
  /** 'train', 'val', 'test', ...: the folder named by that key of data.yaml, else images/<split>. */
  split?: string;
  /** Files read at once. Default 8. */
  concurrency?: number;
}

const IMAGE_EXTENSIONS = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.bmp',
  '.tif',
  '.tiff',
  '.gif',
  '.avif',
]);

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Files under `dir`, recursively. Symlinks are followed only to files inside `root` (a symlinked
 * folder is not entered); one pointing out of `root` is reported and left out.
 */
async function walk(dir: string, root: string, report: ImportProblem[]): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p, root, report)));
    else if (e.isFile()) out.push(p);
    else if (e.isSymbolicLink()) {
      const r = resolveInsideFolder(root, p);
      if (!r.ok && !r.missing) report.push({ file: p, problem: `${r.reason}: skipped, never opened` });
      else if (r.ok && (await stat(r.path)).isFile()) out.push(p);
    }
  }
  return out;
}

/** Ultralytics' img2label_paths. */
export function yoloLabelPath(imageFile: string): string {
  const sa = `${path.sep}images${path.sep}`;
  const sb = `${path.sep}labels${path.sep}`;
  const k = imageFile.lastIndexOf(sa);
  const swapped = k >= 0 ? imageFile.slice(0, k) + sb + imageFile.slice(k + sa.length) : imageFile;
  const ext = path.extname(swapped);
  return swapped.slice(0, swapped.length - ext.length) + '.txt';
}

interface ClassNames {
  /** index -> name; holes are allowed (mapping form). */
  names: Map<number, string>;
  /** Known number of classes, when names or nc tell it. */
  count: number | null;
  yamlFile: string | null;
}

async function readClassNames(
  base: string,
  report: ImportProblem[],
): Promise<{ classes: ClassNames; yaml: Map<string, YamlValue> }> {
  for (const name of ['data.yaml', 'data.yml', 'dataset.yaml']) {
    const file = path.join(base, name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    const doc = parseYamlSubset(text);
    for (const p of doc.problems) report.push({ file, problem: `YAML: ${p.message}`, line: p.line });
    const names = new Map<number, string>();
    const raw = doc.values.get('names');
    const namesLine = doc.lines.get('names');
    const problem = (p: string) =>
      report.push(namesLine ? { file, problem: p, line: namesLine } : { file, problem: p });
    if (Array.isArray(raw)) raw.forEach((v, k) => names.set(k, String(v)));
    else if (raw && typeof raw === 'object') {
      for (const [key, v] of Object.entries(raw)) {
        const k = Number(key);
        if (!Number.isInteger(k) || k < 0)
          problem(`names: key ${JSON.stringify(key)} is not a class index: ignored`);
        else names.set(k, String(v));
      }
    } else if (raw !== undefined) problem('names is neither a list nor an index -> name mapping: ignored');
    else problem('data.yaml has no "names": classes are named by their index');
    let count: number | null = names.size ? Math.max(...names.keys()) + 1 : null;
    const nc = doc.values.get('nc');
    if (nc !== undefined) {
      if (typeof nc !== 'number' || !Number.isInteger(nc) || nc < 0) {
        report.push({
          file,
          problem: `nc ${JSON.stringify(nc)} is not a class count: ignored`,
          line: doc.lines.get('nc'),
        });
      } else {
        if (count !== null && nc !== count) {
          report.push({
            file,
            problem: `nc is ${nc} but names lists ${count} classes: using names`,
            line: doc.lines.get('nc'),
          });
        }
        count ??= nc;
      }
    }
    return { classes: { names, count, yamlFile: file }, yaml: doc.values };
  }
  // darknet: one name per line
  for (const name of ['classes.txt', 'obj.names']) {
    const file = path.join(base, name);
    try {
      const lines = (await readFile(file, 'utf8')).split(/\r?\n/).map((l) => l.trim());
      while (lines.length && lines[lines.length - 1] === '') lines.pop();
      return {
        classes: { names: new Map(lines.map((l, k) => [k, l])), count: lines.length, yamlFile: file },
        yaml: new Map(),
      };
    } catch {
      // not there
    }
  }
  report.push({
    file: path.join(base, 'data.yaml'),
    problem: 'no data.yaml (or classes.txt): classes are named by their index',
  });
  return { classes: { names: new Map(), count: null, yamlFile: null }, yaml: new Map() };
}

async function resolveImageDir(
  base: string,
  split: string | undefined,
  yaml: Map<string, YamlValue>,
): Promise<string> {
  if (split === undefined) {
    const dir = path.join(base, 'images');
    if (await isDir(dir)) return dir;
    throw new Error(`YOLO dataset ${base} has no images/ folder`);
  }
  const tried: string[] = [];
  const entry = yaml.get(split);
  if (typeof entry === 'string') {
    const datasetRoot =
      typeof yaml.get('path') === 'string' ? path.resolve(base, yaml.get('path') as string) : base;
    // Roboflow writes `train: ../train/images` for a data.yaml that sits beside train/ (Ultralytics
    // retries without the leading ../ the same way)
    const stripped = entry.replace(/^(\.\.[/\\])+/, '');
    for (const candidate of [
      path.resolve(datasetRoot, entry),
      path.resolve(base, entry),
      path.resolve(base, stripped),
    ]) {
      if (tried.includes(candidate)) continue;
      const inside = resolveInsideFolder(base, candidate);
      if (!inside.ok && !inside.missing) {
        tried.push(`${candidate} (outside the dataset folder: not used)`);
        continue;
      }
      tried.push(candidate);
      if (await isDir(candidate)) return candidate;
    }
  }
  const fallback = path.join(base, 'images', split);
  tried.push(fallback);
  if (await isDir(fallback)) return fallback;
  throw new Error(`YOLO split "${split}" has no image folder (tried ${tried.join(', ')})`);
}

export async function importYolo(root: string, opts: YoloImportOptions = {}): Promise<ImportResult> {
  const base = path.resolve(root);
  if (!(await isDir(base))) throw new Error(`YOLO dataset folder ${base} does not exist or is not a folder`);
  const report: ImportProblem[] = [];
  const { classes, yaml } = await readClassNames(base, report);
  const imageDir = await resolveImageDir(base, opts.split, yaml);

  const all = (await walk(imageDir, base, report)).sort();
  const imageFiles = all.filter((f) => IMAGE_EXTENSIONS.has(path.extname(f).toLowerCase()));
  // two images with the same stem in one folder would share a label file
  const byLabel = new Map<string, string>();
  const images: { file: string; label: string }[] = [];
  for (const f of imageFiles) {
    const label = yoloLabelPath(f);
    const first = byLabel.get(label);
    if (first) {
      report.push({
        file: f,
        problem: `duplicate image id: same name as ${first} (both would use ${label}): skipped`,
      });
      continue;
    }
    byLabel.set(label, f);
    images.push({ file: f, label });
  }
  // label files whose image is missing
  const labelDir = yoloLabelPath(path.join(imageDir, 'x.jpg')).slice(0, -'x.txt'.length);
  if (labelDir !== imageDir + path.sep && (await isDir(labelDir))) {
    // a link out of the folder among labels of known images is reported once, when it is read below
    const links: ImportProblem[] = [];
    const labelFiles = await walk(labelDir, base, links);
    report.push(...links.filter((p) => !byLabel.has(p.file)));
    for (const l of labelFiles.sort()) {
      if (l.endsWith('.txt') && !byLabel.has(l) && path.basename(l) !== 'classes.txt') {
        report.push({ file: l, problem: 'label file has no image (missing image): skipped' });
      }
    }
  }

  const concurrency = opts.concurrency ?? 8;
  const probes = await mapLimit(images, concurrency, (im) => probeImage(im.file));
  const labels = await mapLimit(images, concurrency, async (im) => {
    const where = resolveInsideFolder(base, im.label);
    if (!where.ok && !where.missing) {
      report.push({ file: im.label, problem: `${where.reason}: labels ignored, never opened` });
      return null;
    }
    try {
      return await readFile(im.label, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      report.push({
        file: im.label,
        problem: `cannot read the label file (${(err as Error).message}): image kept without labels`,
      });
      return null;
    }
  });

  const dataset: LabelledDataset = { images: [], annotations: [], categories: [] };
  const usedClasses = new Set<number>();
  images.forEach((im, k) => {
    const probe = probes[k]!;
    if (!probe.ok) {
      report.push({ file: im.file, problem: `${probe.reason}: image skipped with its labels` });
      return;
    }
    const image: LabelledImage = {
      id: dataset.images.length + 1,
      file: im.file,
      width: probe.width,
      height: probe.height,
    };
    dataset.images.push(image);
    const text = labels[k];
    if (!text) return;
    const problem = (line: number, p: string) => report.push({ file: im.label, problem: p, line });
    const seen = new Map<string, number>();
    text.split(/\r?\n/).forEach((raw, lineIdx) => {
      const line = lineIdx + 1;
      const tokens = raw.trim().split(/\s+/).filter(Boolean);
      if (tokens.length === 0) return;
      const key = tokens.join(' ');
      const first = seen.get(key);
      if (first !== undefined) return problem(line, `duplicate label (same as line ${first}): skipped`);
      seen.set(key, line);
      // 5 values is a box, 7 or more a segment; 6 fits neither (a box with a stray value?)
      if (tokens.length < 5 || tokens.length === 6) {
        return problem(
          line,
          `expected "class cx cy w h" (or "class x1 y1 x2 y2 x3 y3 ..."), found ${tokens.length} values: skipped`,
        );
      }
      const cls = Number(tokens[0]);
      if (!Number.isInteger(cls) || cls < 0)
        return problem(line, `class ${JSON.stringify(tokens[0])} is not a class index: skipped`);
      const nums = tokens.slice(1).map(Number);
      const bad = nums.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) return problem(line, `value ${JSON.stringify(tokens[bad + 1])} is not a number: skipped`);
      if (
        classes.count !== null &&
        (cls >= classes.count || (classes.names.size > 0 && !classes.names.has(cls)))
      ) {
        return problem(line, `unknown category: class ${cls} (${classes.count} classes): skipped`);
      }
      let box: number[];
      /** A segment line's points in pixels, complete pairs only. */
      let polygon: number[] | null = null;
      if (nums.length === 4) {
        const [cx, cy, w, h] = nums as [number, number, number, number];
        box = [(cx - w / 2) * image.width, (cy - h / 2) * image.height, w * image.width, h * image.height];
      } else {
        polygon = nums
          .slice(0, nums.length - (nums.length % 2))
          .map((v, j) => v * (j % 2 === 0 ? image.width : image.height));
        const xs = polygon.filter((_, j) => j % 2 === 0);
        const ys = polygon.filter((_, j) => j % 2 === 1);
        const x0 = Math.min(...xs);
        const y0 = Math.min(...ys);
        box = [x0, y0, Math.max(...xs) - x0, Math.max(...ys) - y0];
      }
      const verdict = checkBox(box, image.width, image.height);
      if (verdict.kind === 'skip') return problem(line, verdict.problem);
      if (verdict.kind === 'clipped') problem(line, verdict.problem);
      let mask: SegmentationVerdict | null = null;
      if (polygon && nums.length % 2 === 1) {
        problem(
          line,
          `segment has an odd number of coordinates (${nums.length}): mask skipped, box of its ${polygon.length / 2} points kept`,
        );
      } else if (polygon) {
        mask = checkSegmentation([polygon], image.width, image.height);
        if (mask.kind === 'skip') problem(line, `${mask.problem}: mask skipped, box kept`);
      }
      usedClasses.add(cls);
      dataset.annotations.push({
        id: dataset.annotations.length + 1,
        imageId: image.id,
        categoryId: cls + 1,
        bbox: verdict.bbox,
        area: mask?.kind === 'ok' ? mask.area : verdict.bbox[2] * verdict.bbox[3],
        iscrowd: 0,
        ...(mask?.kind === 'ok' ? { segmentation: mask.segmentation } : {}),
        ...(verdict.kind === 'clipped' ? { clipped: true as const } : {}),
      });
    });
  });

  const indices =
    classes.count !== null
      ? Array.from({ length: classes.count }, (_, k) => k)
      : [...usedClasses].sort((a, b) => a - b);
  dataset.categories = indices
    .filter((k) => classes.names.size === 0 || classes.names.has(k))
    .map((k) => ({ id: k + 1, name: classes.names.get(k) ?? String(k) }));
  return { dataset, report };
}
