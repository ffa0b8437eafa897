/** Temp-dir dataset fixtures: real images written with sharp, text files as given. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { removeTempDir, tempDir } from '../../temp-dir';

export function makeTempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = tempDir(prefix);
  return { dir, cleanup: () => removeTempDir(dir) };
}

export function writeText(file: string, text: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

/** A real image of the given size; the format follows the extension (png, jpg, webp). */
export async function writeImage(file: string, width: number, height: number): Promise<string> {
  mkdirSync(path.dirname(file), { recursive: true });
  const img = sharp({ create: { width, height, channels: 3, background: { r: 40, g: 120, b: 200 } } });
  const ext = path.extname(file).toLowerCase();
  if (ext === '.png') await img.png().toFile(file);
  else if (ext === '.webp') await img.webp().toFile(file);
  else await img.jpeg().toFile(file);
  return file;
}

/** Bytes that no decoder accepts, under an image name. */
export function writeCorruptImage(file: string): string {
  return writeText(file, 'this is not an image, just text pretending to be one');
}

/** A JPEG cut at 60% of its bytes: sharp reads its header (size and all), its pixels end early. */
export async function writeTruncatedJpeg(file: string, width = 120, height = 90): Promise<string> {
  mkdirSync(path.dirname(file), { recursive: true });
  const full = await sharp({
    create: {
      width,
      height,
      channels: 3,
      background: '#000',
      noise: { type: 'gaussian', mean: 128, sigma: 40 },
    },
  })
    .jpeg()
    .toBuffer();
  writeFileSync(file, full.subarray(0, Math.floor(full.length * 0.6)));
  return file;
}
