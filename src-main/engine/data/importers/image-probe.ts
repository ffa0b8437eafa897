/**
 * Image checks for importers: does the file exist, can sharp read its header, what is its displayed
 * size (EXIF orientations 5-8 swap width and height), and does it decode to the end. The decode is
 * what training's decoders do (failOn 'warning'), shrunk on load so it stays cheap: a truncated
 * JPEG, whose header sharp reads fine, is caught here and reported instead of counted as good and
 * skipped later by training. Images with a side under MIN_IMAGE_SIDE px (a 1×1 tracking pixel) are
 * refused too: no crop or detector input can be made of them. BMP, which libvips cannot open, is
 * checked by its header instead.
 */
import { open, stat } from 'node:fs/promises';
import sharp from 'sharp';

/** The smallest side an imported image may have, in pixels. */
export const MIN_IMAGE_SIDE = 8;

export type ImageProbe =
  { ok: true; width: number; height: number } | { ok: false; missing: boolean; reason: string };

function bmpSize(head: Buffer, fileSize: number): { width: number; height: number } | string {
  if (head.length < 26) return 'truncated BMP header';
  const pixelOffset = head.readUInt32LE(10);
  const dib = head.readUInt32LE(14);
  if (dib === 12) return { width: head.readUInt16LE(18), height: head.readUInt16LE(20) };
  if (dib < 40) return `unknown BMP header size ${dib}`;
  const width = head.readInt32LE(18);
  const height = Math.abs(head.readInt32LE(22));
  if (pixelOffset >= fileSize) return 'BMP pixel data offset lies past the end of the file';
  return { width, height };
}

export async function probeImage(file: string): Promise<ImageProbe> {
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) return { ok: false, missing: true, reason: 'not a file' };
    size = s.size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR'
      ? { ok: false, missing: true, reason: 'image file not found' }
      : { ok: false, missing: false, reason: `cannot access the image (${(err as Error).message})` };
  }
  if (size === 0) return { ok: false, missing: false, reason: 'image file is empty (0 bytes)' };
  try {
    const fh = await open(file, 'r');
    const head = Buffer.alloc(26);
    try {
      await fh.read(head, 0, 26, 0);
    } finally {
      await fh.close();
    }
    if (head[0] === 0x42 && head[1] === 0x4d) {
      const r = bmpSize(head, size);
      if (typeof r === 'string') return { ok: false, missing: false, reason: `unreadable image: ${r}` };
      return sized(r.width, r.height);
    }
    const meta = await sharp(file).metadata();
    let w = meta.width ?? 0;
    let h = meta.height ?? 0;
    if ((meta.orientation ?? 1) >= 5) [w, h] = [h, w];
    const verdict = sized(w, h);
    if (!verdict.ok) return verdict;
    try {
      await sharp(file, { failOn: 'warning' })
        .resize(64, 64, { fit: 'inside', withoutEnlargement: true })
        .raw()
        .toBuffer();
    } catch (err) {
      return {
        ok: false,
        missing: false,
        reason: `image is damaged: the header reads, the pixels do not (${(err as Error).message.trim()})`,
      };
    }
    return verdict;
  } catch (err) {
    return { ok: false, missing: false, reason: `unreadable image (${(err as Error).message})` };
  }
}

function sized(width: number, height: number): ImageProbe {
  if (width < 1 || height < 1)
    return { ok: false, missing: false, reason: `image has no pixels (${width}×${height})` };
  if (Math.min(width, height) < MIN_IMAGE_SIDE)
    return {
      ok: false,
      missing: false,
      reason: `image is ${width}×${height} px, too small to train on (a side under ${MIN_IMAGE_SIDE} px)`,
    };
  return { ok: true, width, height };
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const k = next++;
      out[k] = await fn(items[k]!, k);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
