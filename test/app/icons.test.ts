/**
 * The app icon: the committed PNG set, .ico and .icns are what scripts/icons.mjs renders from
 * assets/icon.svg today, and the two containers (written by hand there) are well formed: every entry
 * points at a PNG of the size its header declares, and the files end where the headers say.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../temp-dir';

const repo = path.resolve(__dirname, '../..');
const assets = path.join(repo, 'assets');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): [number, number] {
  expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  expect(png.toString('latin1', 12, 16)).toBe('IHDR');
  return [png.readUInt32BE(16), png.readUInt32BE(20)];
}

let fresh: string;
beforeAll(() => {
  fresh = tempDir('selfemd-icons-');
  execFileSync(process.execPath, [path.join(repo, 'scripts', 'icons.mjs'), '--out', fresh], {
    stdio: 'pipe',
  });
}, 60_000);

describe('app icon', () => {
  it('the committed files are the ones the script renders from the SVG', () => {
    const files = [
      'icon.ico',
      'icon.icns',
      ...readdirSync(path.join(fresh, 'icons')).map((f) => `icons/${f}`),
    ];
    expect(files).toContain('icons/512x512.png');
    for (const f of files)
      expect(readFileSync(path.join(assets, f)).equals(readFileSync(path.join(fresh, f))), f).toBe(true);
    for (const f of readdirSync(path.join(assets, 'icons'))) {
      const size = Number(f.split('x')[0]);
      expect(pngSize(readFileSync(path.join(assets, 'icons', f)))).toEqual([size, size]);
    }
  });

  it('icon.ico: an ICONDIR of PNG images of the declared sizes, 16 to 256 px', () => {
    const ico = readFileSync(path.join(assets, 'icon.ico'));
    expect([ico.readUInt16LE(0), ico.readUInt16LE(2)]).toEqual([0, 1]);
    const count = ico.readUInt16LE(4);
    const sizes: number[] = [];
    let end = 6 + 16 * count;
    for (let i = 0; i < count; i++) {
      const e = 6 + 16 * i;
      const size = ico.readUInt8(e) || 256;
      const [bytes, offset] = [ico.readUInt32LE(e + 8), ico.readUInt32LE(e + 12)];
      expect(offset).toBe(end);
      expect(pngSize(ico.subarray(offset, offset + bytes))).toEqual([size, size]);
      end = offset + bytes;
      sizes.push(size);
    }
    expect(end).toBe(ico.length);
    expect(sizes).toEqual([16, 24, 32, 48, 64, 128, 256]);
  });

  it('icon.icns: PNG elements of the sizes their types stand for, 16 to 1024 px', () => {
    const icns = readFileSync(path.join(assets, 'icon.icns'));
    expect(icns.toString('latin1', 0, 4)).toBe('icns');
    expect(icns.readUInt32BE(4)).toBe(icns.length);
    const SIZE: Record<string, number> = {
      icp4: 16,
      icp5: 32,
      ic11: 32,
      icp6: 64,
      ic12: 64,
      ic07: 128,
      ic08: 256,
      ic13: 256,
      ic09: 512,
      ic14: 512,
      ic10: 1024,
    };
    const seen: string[] = [];
    for (let at = 8; at < icns.length;) {
      const type = icns.toString('latin1', at, at + 4);
      const length = icns.readUInt32BE(at + 4);
      expect(SIZE[type], type).toBeDefined();
      expect(pngSize(icns.subarray(at + 8, at + length))).toEqual([SIZE[type], SIZE[type]]);
      seen.push(type);
      at += length;
    }
    expect(seen.sort()).toEqual(Object.keys(SIZE).sort());
  });
});
