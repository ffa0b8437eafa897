/** Small datasets on disk for service and server tests: real PNGs, a broken file, a COCO file with a missing image. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { GpuAdapterInfo } from '../../shared/dto/gpu-adapter';
import { removeTempDir, tempDir } from '../temp-dir';

export function tempHome(prefix = 'selfemd-api-'): { dir: string; cleanup: () => void } {
  const dir = tempDir(prefix);
  return { dir, cleanup: () => removeTempDir(dir) };
}

/** A w×h PNG whose colour depends on `seed`. */
export async function writePng(file: string, w: number, h: number, seed: number): Promise<void> {
  const data = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    data[3 * i] = (seed * 53 + i) % 256;
    data[3 * i + 1] = (seed * 97) % 256;
    data[3 * i + 2] = (i * 7) % 256;
  }
  mkdirSync(path.dirname(file), { recursive: true });
  await sharp(data, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(file);
}

/** `images/` with three PNGs (one in a subfolder) and one file that is not an image. */
export async function imageFolder(root: string): Promise<string> {
  const dir = path.join(root, 'photos');
  await writePng(path.join(dir, 'a.png'), 40, 30, 1);
  await writePng(path.join(dir, 'b.png'), 32, 32, 2);
  await writePng(path.join(dir, 'sub', 'c.png'), 20, 48, 3);
  writeFileSync(path.join(dir, 'broken.jpg'), Buffer.from('this is not a jpeg at all'));
  return dir;
}

/** A COCO dataset: two images present, one listed but missing; two categories. */
export async function cocoDataset(root: string): Promise<string> {
  const dir = path.join(root, 'coco');
  await writePng(path.join(dir, 'img1.png'), 64, 48, 4);
  await writePng(path.join(dir, 'img2.png'), 48, 64, 5);
  const json = {
    images: [
      { id: 1, file_name: 'img1.png', width: 64, height: 48 },
      { id: 2, file_name: 'img2.png', width: 48, height: 64 },
      { id: 3, file_name: 'missing.png', width: 10, height: 10 },
    ],
    categories: [
      { id: 1, name: 'cat' },
      { id: 7, name: 'dog' },
    ],
    annotations: [
      { id: 1, image_id: 1, category_id: 1, bbox: [1, 1, 10, 10], area: 100, iscrowd: 0 },
      { id: 2, image_id: 1, category_id: 7, bbox: [5, 5, 20, 20], area: 400, iscrowd: 0 },
      { id: 3, image_id: 2, category_id: 7, bbox: [2, 3, 10, 12], area: 120, iscrowd: 0 },
      { id: 4, image_id: 3, category_id: 1, bbox: [0, 0, 5, 5], area: 25, iscrowd: 0 },
    ],
  };
  const file = path.join(dir, 'instances.json');
  writeFileSync(file, JSON.stringify(json));
  return file;
}

/** Width and height from a PNG data URL's IHDR chunk. */
export function pngSize(dataUrl: string): { width: number; height: number } {
  const buf = Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64');
  if (buf.toString('ascii', 1, 4) !== 'PNG') throw new Error('not a PNG');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

/** A hardware GPU adapter as the webgpu backend reports one (for records and listings; no GPU needed). */
export const AMD_ADAPTER: GpuAdapterInfo = {
  vendor: 'amd',
  architecture: 'rdna-3',
  device: '',
  description: 'AMD Radeon RX 7600',
  fallback: false,
  maxBufferSize: 2 ** 31,
  maxStorageBufferBindingSize: 2 ** 30,
  powerPreference: 'high-performance',
};
