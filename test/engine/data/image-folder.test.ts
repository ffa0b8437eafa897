import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBmp, encodeBmp24 } from '../../../src-main/engine/data/bmp';
import { loadImageFolder, scanImageFolder, storedSize } from '../../../src-main/engine/data/image-folder';
import { removeTempDir, tempDir } from '../../temp-dir';

/** An image whose left half is red and right half is blue, top row green: orientation is checkable. */
function pattern(w: number, h: number): Uint8Array {
  const px = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      if (y < Math.max(1, Math.floor(h / 8))) px.set([0, 255, 0], o);
      else if (x < w / 2) px.set([255, 0, 0], o);
      else px.set([0, 0, 255], o);
    }
  return px;
}

/** A 32-bit BI_RGB BMP (BGRX), written byte by byte. */
function bmp32(w: number, h: number, rgb: Uint8Array, topDown: boolean): Uint8Array {
  const stride = w * 4;
  const buf = new Uint8Array(54 + stride * h);
  const v = new DataView(buf.buffer);
  buf.set([0x42, 0x4d]);
  v.setUint32(2, buf.length, true);
  v.setUint32(10, 54, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, w, true);
  v.setInt32(22, topDown ? -h : h, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, 32, true);
  for (let y = 0; y < h; y++) {
    const row = 54 + (topDown ? y : h - 1 - y) * stride;
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * 3;
      buf.set([rgb[s + 2]!, rgb[s + 1]!, rgb[s]!, 0xff], row + x * 4);
    }
  }
  return buf;
}

const px = (img: { width: number; data: Uint8Array }, x: number, y: number) =>
  Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

describe('image folder', () => {
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('selfemd-folder-');
    await mkdir(path.join(dir, 'nested', 'deeper'), { recursive: true });
    const raw = (w: number, h: number) =>
      sharp(Buffer.from(pattern(w, h)), { raw: { width: w, height: h, channels: 3 } });
    await raw(80, 40).png().toFile(path.join(dir, 'a.png'));
    await raw(60, 60).jpeg({ quality: 95 }).toFile(path.join(dir, 'B.JPG'));
    await raw(40, 100)
      .webp({ lossless: true })
      .toFile(path.join(dir, 'nested', 'c.webp'));
    await raw(50, 30)
      .tiff()
      .toFile(path.join(dir, 'nested', 'deeper', 'd.tif'));
    // A 16-bit grey PNG with alpha: must come out as 8-bit RGB.
    const grey16 = new Uint16Array(20 * 20 * 2).map((_, i) => (i % 2 === 0 ? 40000 : 65535));
    await sharp(grey16, { raw: { width: 20, height: 20, channels: 2 } })
      .toColourspace('grey16')
      .png()
      .toFile(path.join(dir, 'grey16.png'));
    // EXIF orientation 6 (rotate 90° clockwise to display): stored 40 wide × 20 high.
    await raw(40, 20)
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toFile(path.join(dir, 'rotated.jpg'));
    await writeFile(path.join(dir, 'e-bottomup.bmp'), encodeBmp24(30, 20, pattern(30, 20), false));
    await writeFile(path.join(dir, 'f-topdown32.bmp'), bmp32(30, 20, pattern(30, 20), true));
    // Broken inputs.
    const jpg = await raw(64, 64).jpeg().toBuffer();
    await writeFile(path.join(dir, 'truncated.jpg'), jpg.subarray(0, Math.floor(jpg.length / 2)));
    await writeFile(path.join(dir, 'x.png'), 'this is not an image\n');
    await writeFile(path.join(dir, 'zero.jpeg'), new Uint8Array(0));
    const rle = encodeBmp24(4, 4, pattern(4, 4));
    new DataView(rle.buffer).setUint32(30, 1, true); // claim RLE8
    await writeFile(path.join(dir, 'rle.bmp'), rle);
    await writeFile(path.join(dir, 'notes.txt'), 'ignored: not an image extension');
    await mkdir(path.join(dir, 'empty'));
  });
  afterAll(async () => {
    removeTempDir(dir);
  });

  it('scans recursively, case-insensitively, in sorted order', async () => {
    const files = await scanImageFolder(dir);
    expect(files).toEqual([
      'B.JPG',
      'a.png',
      'e-bottomup.bmp',
      'f-topdown32.bmp',
      'grey16.png',
      'nested/c.webp',
      'nested/deeper/d.tif',
      'rle.bmp',
      'rotated.jpg',
      'truncated.jpg',
      'x.png',
      'zero.jpeg',
    ]);
  });

  it('computes stored sizes: short side fixed, long side capped at 2×', () => {
    expect(storedSize(80, 40, 32)).toEqual({ width: 64, height: 32 });
    expect(storedSize(100, 40, 32)).toEqual({ width: 64, height: 32 }); // 80 → capped 64
    expect(storedSize(40, 100, 32)).toEqual({ width: 32, height: 64 });
    expect(storedSize(60, 45, 30)).toEqual({ width: 40, height: 30 });
  });

  it('decodes good files, skips bad ones with reasons naming the file', async () => {
    const progress: number[] = [];
    const { images, skipped } = await loadImageFolder(dir, {
      shortSide: 32,
      onProgress: (d) => progress.push(d),
    });
    expect(progress).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(images.map((i) => i.id)).toEqual([
      'B.JPG',
      'a.png',
      'e-bottomup.bmp',
      'f-topdown32.bmp',
      'grey16.png',
      'nested/c.webp',
      'nested/deeper/d.tif',
      'rotated.jpg',
    ]);
    for (const img of images) {
      expect(img.data.length).toBe(img.width * img.height * 3);
      expect(Math.min(img.width, img.height)).toBe(32);
      expect(Math.max(img.width, img.height)).toBeLessThanOrEqual(64);
    }
    const byId = new Map(images.map((i) => [i.id, i]));
    expect([byId.get('a.png')!.width, byId.get('a.png')!.height]).toEqual([64, 32]);
    expect([byId.get('nested/c.webp')!.width, byId.get('nested/c.webp')!.height]).toEqual([32, 64]); // 80 → capped
    expect([byId.get('e-bottomup.bmp')!.width, byId.get('e-bottomup.bmp')!.height]).toEqual([48, 32]);

    // Colours land where they should (top band green, left red, right blue) for every format.
    for (const id of ['a.png', 'B.JPG', 'e-bottomup.bmp', 'f-topdown32.bmp', 'nested/deeper/d.tif']) {
      const img = byId.get(id)!;
      const [r0, g0, b0] = px(img, Math.floor(img.width / 2), 0);
      expect(g0, id).toBeGreaterThan(200);
      expect(r0! + b0!, id).toBeLessThan(80);
      const [r1, , b1] = px(img, 2, img.height - 3);
      expect(r1, id).toBeGreaterThan(200);
      expect(b1, id).toBeLessThan(40);
      const [r2, , b2] = px(img, img.width - 3, img.height - 3);
      expect(b2, id).toBeGreaterThan(200);
      expect(r2, id).toBeLessThan(40);
    }
    // Lossless formats decode exactly where the resize does not blend colours.
    expect(px(byId.get('a.png')!, 5, 20)).toEqual([255, 0, 0]);
    expect(px(byId.get('f-topdown32.bmp')!, 40, 20)).toEqual([0, 0, 255]);

    const grey16Meta = await sharp(path.join(dir, 'grey16.png')).metadata();
    expect([grey16Meta.depth, grey16Meta.channels]).toEqual(['ushort', 2]);
    // 16-bit grey with alpha → 8-bit, 3 equal channels, value 40000/65535·255 ≈ 156.
    const g = byId.get('grey16.png')!;
    const [gr, gg, gb] = px(g, 10, 10);
    expect(gr).toBe(gg);
    expect(gg).toBe(gb);
    expect(Math.abs(gr! - 156)).toBeLessThanOrEqual(1);

    // EXIF orientation 6: stored 40×20 becomes portrait 32×64; the green top band of the stored
    // image is rotated to the right edge, the red left half to the top.
    const rot = byId.get('rotated.jpg')!;
    expect([rot.width, rot.height]).toEqual([32, 64]);
    expect(px(rot, rot.width - 1, rot.height / 2)[1]).toBeGreaterThan(180);
    expect(px(rot, 5, 5)[0]).toBeGreaterThan(200);
    expect(px(rot, 5, rot.height - 6)[2]).toBeGreaterThan(200);

    const reasons = new Map(skipped.map((s) => [s.file, s.reason]));
    expect([...reasons.keys()]).toEqual(['rle.bmp', 'truncated.jpg', 'x.png', 'zero.jpeg']);
    for (const [file, reason] of reasons) expect(reason.startsWith(`${file}: `)).toBe(true);
    expect(reasons.get('zero.jpeg')).toMatch(/empty file/);
    expect(reasons.get('x.png')).toMatch(/not a decodable image/);
    expect(reasons.get('rle.bmp')).toMatch(/RLE8/);
    expect(reasons.get('truncated.jpg')).toMatch(/decod|premature|truncat/i);
  });

  it('decodes BMP bottom-up and top-down identically to the source pixels', async () => {
    const src = pattern(7, 5);
    expect(decodeBmp(encodeBmp24(7, 5, src, false)).data).toEqual(src);
    expect(decodeBmp(encodeBmp24(7, 5, src, true)).data).toEqual(src);
    expect(decodeBmp(bmp32(7, 5, src, false)).data).toEqual(src);
    const file = await readFile(path.join(dir, 'e-bottomup.bmp'));
    expect(() => decodeBmp(file.subarray(0, 100))).toThrow(/truncated/);
  });

  it('throws naming the folder when it is missing or has no images', async () => {
    const missing = path.join(dir, 'does-not-exist');
    await expect(loadImageFolder(missing, { shortSide: 32 })).rejects.toThrow(missing);
    await expect(scanImageFolder(missing)).rejects.toThrow(/not found/);
    const empty = path.join(dir, 'empty');
    await expect(loadImageFolder(empty, { shortSide: 32 })).rejects.toThrow(
      new RegExp(`${empty}.*no images`),
    );
    const onlyBad = tempDir('selfemd-bad-');
    await writeFile(path.join(onlyBad, 'x.png'), 'nope');
    await expect(loadImageFolder(onlyBad, { shortSide: 32 })).rejects.toThrow(
      /none of 1 image files.*x\.png/,
    );
    removeTempDir(onlyBad);
  });
});

describe('folders that are never an image folder', () => {
  it('refuses the file system root and kernel pseudo-filesystems at once, naming the folder', async () => {
    const t0 = performance.now();
    await expect(scanImageFolder('/')).rejects.toThrow(/^Image folder \/: is the root of the file system/);
    if (process.platform === 'linux') {
      await expect(scanImageFolder('/proc/self')).rejects.toThrow(/\/proc\/self: is inside \/proc, a kernel/);
      await expect(scanImageFolder('/sys')).rejects.toThrow(/is inside \/sys/);
    }
    // A refusal, not a walk over every disk.
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
