/**
 * Loading a folder of unlabelled images for pretraining: every image is decoded once, EXIF-rotated,
 * converted to 3-channel sRGB and stored at a fixed short side, so augmentation never touches disk.
 * Bad files are skipped with a reason (a 10 000-image folder must not die on one broken JPEG).
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { decodeBmp, isBmp } from './bmp';
import type { SkippedFile } from '../../../shared/dto/datasets';
import type { RawImage } from './raw-image';

/** A file left out, with a reason that names it (the shape the dataset record stores). */
export type { SkippedFile };

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.bmp', '.tif', '.tiff'] as const;

export interface LoadImageFolderOptions {
  /** Short side of the stored images in pixels (the long side is centre-cropped to at most 2×). */
  shortSide: number;
  /** Called after each file, decoded or skipped. */
  onProgress?: (done: number, total: number, file: string) => void;
  /** Files decoded at once (sharp works on libuv threads); results keep scan order regardless. */
  concurrency?: number;
}

export interface LoadedImageFolder {
  images: RawImage[];
  skipped: SkippedFile[];
}

/** Code-unit order, not locale order: the same on every machine. */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Image files found under a folder, and the sub-folders the scan had to leave out (and why). */
export interface ImageFolderScan {
  /** POSIX paths relative to the folder, sorted. */
  files: string[];
  /** Sub-folders that vanished or could not be read while scanning, relative to the folder. */
  skipped: SkippedFile[];
}

type ScanFault = (dir: string) => NodeJS.ErrnoException | undefined;
let scanFault: ScanFault | null = null;

/**
 * Test hook: every folder the scan lists first asks `f`; an error it returns is met as if listing
 * the folder had failed (a folder removed or made unreadable mid-scan, which root cannot provoke
 * with chmod). `null` removes the hook.
 */
export function setScanFaultForTests(f: ScanFault | null): void {
  scanFault = f;
}

async function listFolder(dir: string): Promise<Dirent[]> {
  const injected = scanFault?.(dir);
  if (injected) throw injected;
  return readdir(dir, { withFileTypes: true });
}

/** "removed while the folder was being scanned", "permission denied", … — never a raw errno line. */
function whyUnlisted(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'folder vanished while it was being scanned; left out';
  if (code === 'EACCES' || code === 'EPERM') return 'folder cannot be read (permission denied); left out';
  return `folder cannot be read (${code ?? (err as Error).message}); left out`;
}

/**
 * Why `dir` is never a dataset's image folder, or null: the file system's root (a scan would walk
 * every disk, and a picker's or a script's slip is far likelier than a dataset spread over /), and
 * Linux's kernel pseudo-filesystems (endless, changing under the scan, never holding images).
 */
function whyNeverAnImageFolder(dir: string): string | null {
  const abs = path.resolve(dir);
  if (path.parse(abs).root === abs)
    return 'is the root of the file system; choose the folder that holds the images';
  if (process.platform === 'linux' && /^\/(proc|sys|dev)(\/|$)/.test(abs))
    return `is inside /${abs.split('/')[1]}, a kernel pseudo-filesystem that holds no images`;
  return null;
}

/**
 * Image files under `dir` (recursively, symlinked folders not followed), and the sub-folders left out
 * because they vanished or could not be read during the scan: a live tree (`/`, `/proc`) changes
 * under a long scan, and one folder must not sink the whole import with a raw errno. Throws an Error
 * naming the folder when `dir` itself is missing, not a directory, or unreadable.
 */
export async function scanImageFolderWithReport(dir: string): Promise<ImageFolderScan> {
  const never = whyNeverAnImageFolder(dir);
  if (never) throw new Error(`Image folder ${dir}: ${never}`);
  let info;
  try {
    info = await stat(dir);
  } catch {
    throw new Error(`Image folder not found: ${dir}`);
  }
  if (!info.isDirectory()) throw new Error(`Image folder is not a directory: ${dir}`);
  const files: string[] = [];
  const skipped: SkippedFile[] = [];
  const pending = [''];
  for (let rel = pending.pop(); rel !== undefined; rel = pending.pop()) {
    let entries: Dirent[];
    try {
      entries = await listFolder(path.join(dir, rel));
    } catch (err) {
      if (rel === '') throw new Error(`Image folder ${dir}: ${whyUnlisted(err).replace(/; left out$/, '')}`);
      skipped.push({ file: `${rel}/`, reason: whyUnlisted(err) });
      continue;
    }
    for (const entry of entries) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) pending.push(child);
      else if (
        entry.isFile() &&
        (IMAGE_EXTENSIONS as readonly string[]).includes(path.extname(entry.name).toLowerCase())
      )
        files.push(child);
    }
  }
  return {
    files: files.sort(compareCodeUnits),
    skipped: skipped.sort((a, b) => compareCodeUnits(a.file, b.file)),
  };
}

/**
 * Image files under `dir` (recursively), as POSIX paths relative to `dir`, sorted; sub-folders that
 * cannot be listed are left out (scanImageFolderWithReport says which).
 * Throws an Error naming the folder when it is missing or not a directory.
 */
export async function scanImageFolder(dir: string): Promise<string[]> {
  return (await scanImageFolderWithReport(dir)).files;
}

/** Output size for a source of (w, h): short side → shortSide, long side capped at 2 × shortSide. */
export function storedSize(w: number, h: number, shortSide: number): { width: number; height: number } {
  const scale = shortSide / Math.min(w, h);
  const cap = 2 * shortSide;
  return {
    width: Math.min(cap, Math.max(1, Math.round(w * scale))),
    height: Math.min(cap, Math.max(1, Math.round(h * scale))),
  };
}

/** Orientations 5–8 swap width and height once EXIF rotation is applied. */
function orientedSize(meta: sharp.Metadata): { w: number; h: number } {
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  return (meta.orientation ?? 1) >= 5 ? { w: h, h: w } : { w, h };
}

async function finishToRaw(
  pipeline: sharp.Sharp,
  w: number,
  h: number,
  shortSide: number,
): Promise<Omit<RawImage, 'id'>> {
  const size = storedSize(w, h, shortSide);
  // `cover` scales so the short side fits, then centre-crops the long side to the cap.
  const { data, info } = await pipeline
    .resize({ width: size.width, height: size.height, fit: 'cover', position: 'centre', kernel: 'lanczos3' })
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== size.width || info.height !== size.height)
    throw new Error(
      `decoder returned ${info.width}×${info.height}×${info.channels}, expected ${size.width}×${size.height}×3`,
    );
  return {
    width: info.width,
    height: info.height,
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

/**
 * Decodes one file to a RawImage at the stored size. Throws an Error with a short reason
 * (the caller adds the file name).
 */
export async function decodeImageFile(file: string, shortSide: number): Promise<Omit<RawImage, 'id'>> {
  const buf = await readFile(file);
  if (buf.length === 0) throw new Error('empty file (0 bytes)');
  if (isBmp(buf)) {
    const bmp = decodeBmp(buf);
    const pipeline = sharp(bmp.data, { raw: { width: bmp.width, height: bmp.height, channels: 3 } });
    return finishToRaw(pipeline, bmp.width, bmp.height, shortSide);
  }
  // failOn 'warning' turns libjpeg's "premature end of file" into an error instead of a grey half-image.
  const input = () => sharp(buf, { failOn: 'warning' });
  let meta: sharp.Metadata;
  try {
    meta = await input().metadata();
  } catch (err) {
    throw new Error(`not a decodable image (${(err as Error).message})`);
  }
  const { w, h } = orientedSize(meta);
  if (w < 1 || h < 1) throw new Error(`image has no pixels (${w}×${h})`);
  // rotate() applies EXIF orientation; flatten() drops alpha by compositing on black (what a
  // plain channel drop gives for premultiplied zeros, without exposing garbage under alpha 0);
  // toColourspace('srgb') turns grey, CMYK and 16-bit inputs into 8-bit RGB.
  const pipeline = input()
    .rotate()
    .flatten({ background: { r: 0, g: 0, b: 0 } })
    .toColourspace('srgb');
  try {
    return await finishToRaw(pipeline, w, h, shortSide);
  } catch (err) {
    throw new Error(`could not decode (${(err as Error).message})`);
  }
}

/**
 * Loads every image under `dir` at short side `shortSide`. Unreadable files are listed in `skipped`
 * with a reason; a missing folder, a folder without image files, or one where nothing decodes throws.
 */
export async function loadImageFolder(
  dir: string,
  options: LoadImageFolderOptions,
): Promise<LoadedImageFolder> {
  const { shortSide, onProgress } = options;
  if (!Number.isInteger(shortSide) || shortSide < 1)
    throw new Error(`loadImageFolder: shortSide must be a positive integer, got ${shortSide}`);
  const { files, skipped: unlisted } = await scanImageFolderWithReport(dir);
  if (files.length === 0)
    throw new Error(
      `Image folder ${dir} contains no images (looked for ${IMAGE_EXTENSIONS.join(' ')}, recursively)`,
    );

  const results: (RawImage | SkippedFile)[] = new Array(files.length);
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 2, files.length));
  let nextIndex = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = nextIndex++;
      if (i >= files.length) return;
      const rel = files[i]!;
      try {
        const decoded = await decodeImageFile(path.join(dir, rel), shortSide);
        results[i] = { id: rel, ...decoded };
      } catch (err) {
        results[i] = { file: rel, reason: `${rel}: ${(err as Error).message}` };
      }
      done++;
      onProgress?.(done, files.length, rel);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));

  const images: RawImage[] = [];
  const skipped: SkippedFile[] = [...unlisted];
  for (const r of results) {
    if ('reason' in r) skipped.push(r);
    else images.push(r);
  }
  if (images.length === 0) {
    const first = skipped
      .slice(0, 3)
      .map((s) => s.reason)
      .join('; ');
    throw new Error(
      `Image folder ${dir}: none of ${files.length} image files could be decoded (${first}${skipped.length > 3 ? '; …' : ''})`,
    );
  }
  return { images, skipped };
}
