/**
 * Where COCO datasets keep their files, as they are usually laid out:
 *
 *   root/annotations/instances_train2017.json  + root/train2017/   (COCO itself)
 *   root/annotations/instances_train.json      + root/train/ or root/images/[train/]
 *   root/train/_annotations.coco.json          + the images beside it (Roboflow)
 *   root/instances.json                        + root/images/
 *
 * `findCocoAnnotationFiles` picks the annotation files of a dataset folder (top level and
 * annotations/) by their content, so an unrelated `stats.json` is never taken for one;
 * `findCocoImageDir` picks the image folder that holds the most of the JSON's `file_name`s, and
 * says where it looked when none does.
 */
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { resolveInsideFolder } from '../inside-folder';

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Bytes read from the start of a .json file to tell COCO from other JSON. */
const SNIFF_BYTES = 1 << 20;

/**
 * Whether the file starts like a COCO instances file: an object with an `"images": [` or
 * `"annotations": [` array near its start (both come before any bulk in COCO, Roboflow and CVAT
 * exports; a 450 MB instances file still names "images" in its first kilobytes).
 */
export async function looksLikeCocoJson(file: string): Promise<boolean> {
  let text: string;
  try {
    const fh = await open(file, 'r');
    try {
      const buf = Buffer.alloc(SNIFF_BYTES);
      const { bytesRead } = await fh.read(buf, 0, SNIFF_BYTES, 0);
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return false;
  }
  return /^\s*\{/.test(text) && /"(images|annotations)"\s*:\s*\[/.test(text);
}

/**
 * The COCO annotation files of a dataset folder: its own, its annotations/ folder's and Roboflow's
 * `<split>/_annotations.coco.json`. Sorted within each folder.
 */
export async function findCocoAnnotationFiles(dir: string): Promise<string[]> {
  const base = path.resolve(dir);
  const found: string[] = [];
  let subfolders: string[] = [];
  try {
    subfolders = (await readdir(base, { withFileTypes: true }))
      .filter((e) => e.isDirectory() && e.name.toLowerCase() !== 'annotations')
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
  for (const sub of subfolders) {
    const roboflow = path.join(base, sub, '_annotations.coco.json');
    if (await looksLikeCocoJson(roboflow)) found.push(roboflow);
  }
  for (const folder of [base, path.join(base, 'annotations')]) {
    let names: string[];
    try {
      names = (await readdir(folder, { withFileTypes: true }))
        .filter((e) => e.isFile() && e.name.toLowerCase().endsWith('.json'))
        .map((e) => e.name)
        .sort();
    } catch {
      continue;
    }
    for (const n of names)
      if (await looksLikeCocoJson(path.join(folder, n))) found.push(path.join(folder, n));
  }
  return found;
}

/**
 * Image folder names a JSON's name suggests: `instances_train2017.json` -> train2017, train (and
 * train2014); `instances_val.json` -> val, val2017, val2014; `gt.json` -> gt;
 * `_annotations.coco.json` -> none.
 */
function splitNames(annotationFile: string): string[] {
  const stem = path
    .basename(annotationFile)
    .replace(/\.json$/i, '')
    .replace(/^(instances|annotations?|person_keypoints|coco)[_-]?/i, '')
    .replace(/^_?annotations(\.coco)?$/i, '');
  if (!stem) return [];
  const bare = stem.replace(/\d{4}$/, '');
  if (!/^(train|val|valid|validation|test|minival|trainval)$/i.test(bare)) return [stem];
  return [...new Set([stem, bare, `${bare}2017`, `${bare}2014`])];
}

/** Folders the images of `annotationFile` are looked for in, most likely first (existing or not). */
export function cocoImageDirCandidates(annotationFile: string): string[] {
  const here = path.dirname(path.resolve(annotationFile));
  const splits = splitNames(annotationFile);
  const roots = path.basename(here).toLowerCase() === 'annotations' ? [here, path.dirname(here)] : [here];
  const out: string[] = [];
  for (const root of roots) {
    out.push(root);
    for (const s of splits) out.push(path.join(root, s), path.join(root, 'images', s));
    out.push(path.join(root, 'images'));
  }
  return [...new Set(out)];
}

export type CocoImageDirChoice = { dir: string } | { dir: null; tried: string[] };

/**
 * The candidate folder holding the most of `fileNames` (a sample of up to 50 is checked; names
 * that would leave a folder count for none). Null, with the folders tried, when no folder holds any.
 */
export async function findCocoImageDir(
  annotationFile: string,
  fileNames: readonly string[],
): Promise<CocoImageDirChoice> {
  const step = Math.max(1, Math.floor(fileNames.length / 50));
  const sample = fileNames.filter((_, k) => k % step === 0).slice(0, 50);
  const tried: string[] = [];
  let best: { dir: string; hits: number } | null = null;
  for (const dir of cocoImageDirCandidates(annotationFile)) {
    tried.push(dir);
    if (!(await isDir(dir))) continue;
    let hits = 0;
    for (const name of sample) {
      const r = resolveInsideFolder(dir, name);
      if (r.ok && (await stat(r.path)).isFile()) hits++;
    }
    if (hits > (best?.hits ?? 0)) best = { dir, hits };
    if (hits === sample.length && hits > 0) break;
  }
  return best ? { dir: best.dir } : { dir: null, tried };
}
