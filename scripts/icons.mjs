// Renders the app icon (assets/icon.svg) into what each platform wants, all committed under assets/:
//   icons/NxN.png   Linux (electron-builder's linux.icon folder), the window icon, the favicon PNG
//   icon.ico        Windows: an ICONDIR whose images are PNGs (read by Windows Vista and later)
//   icon.icns       macOS: an icns container of PNG elements
// Run after editing the SVG: node scripts/icons.mjs   (--out DIR writes the set elsewhere: the tests
// compare it with the committed one)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const assets = path.join(repo, 'assets');
const PNG_SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024];
const ICO_SIZES = [16, 24, 32, 48, 64, 128, 256];
// icns element types holding PNG data, by pixel size (the @2x types are separate elements).
const ICNS_TYPES = [
  ['icp4', 16],
  ['icp5', 32],
  ['ic11', 32],
  ['icp6', 64],
  ['ic12', 64],
  ['ic07', 128],
  ['ic08', 256],
  ['ic13', 256],
  ['ic09', 512],
  ['ic14', 512],
  ['ic10', 1024],
];

/** The SVG rasterised at `size` px (at a density that gives at least that many pixels, then resized). */
export async function renderPng(svg, size) {
  const density = Math.max(72, Math.ceil((72 * size) / 512));
  return sharp(svg, { density }).resize(size, size).png({ compressionLevel: 9 }).toBuffer();
}

/** ICO: 6-byte ICONDIR, one 16-byte entry per image, then the PNGs. Width/height 0 mean 256. */
export function icoFile(images) {
  const header = Buffer.alloc(6 + 16 * images.length);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // 1 = icon
  header.writeUInt16LE(images.length, 4);
  let offset = header.length;
  images.forEach(({ size, png }, i) => {
    const e = 6 + 16 * i;
    header.writeUInt8(size >= 256 ? 0 : size, e);
    header.writeUInt8(size >= 256 ? 0 : size, e + 1);
    header.writeUInt8(0, e + 2); // no palette
    header.writeUInt8(0, e + 3);
    header.writeUInt16LE(1, e + 4); // colour planes
    header.writeUInt16LE(32, e + 6); // bits per pixel
    header.writeUInt32LE(png.length, e + 8);
    header.writeUInt32LE(offset, e + 12);
    offset += png.length;
  });
  return Buffer.concat([header, ...images.map((im) => im.png)]);
}

/** ICNS: 'icns' + big-endian total length, then elements of type + big-endian length (header included) + data. */
export function icnsFile(elements) {
  const parts = elements.map(({ type, png }) => {
    const head = Buffer.alloc(8);
    head.write(type, 0, 'latin1');
    head.writeUInt32BE(png.length + 8, 4);
    return Buffer.concat([head, png]);
  });
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'latin1');
  head.writeUInt32BE(8 + parts.reduce((n, p) => n + p.length, 0), 4);
  return Buffer.concat([head, ...parts]);
}

export async function generateIcons(out = assets) {
  const svg = readFileSync(path.join(assets, 'icon.svg'));
  const pngs = new Map();
  for (const size of PNG_SIZES) pngs.set(size, await renderPng(svg, size));
  mkdirSync(path.join(out, 'icons'), { recursive: true });
  for (const [size, png] of pngs) writeFileSync(path.join(out, 'icons', `${size}x${size}.png`), png);
  writeFileSync(
    path.join(out, 'icon.ico'),
    icoFile(ICO_SIZES.map((size) => ({ size, png: pngs.get(size) }))),
  );
  writeFileSync(
    path.join(out, 'icon.icns'),
    icnsFile(ICNS_TYPES.map(([type, size]) => ({ type, png: pngs.get(size) }))),
  );
  return [...PNG_SIZES.map((s) => `icons/${s}x${s}.png`), 'icon.ico', 'icon.icns'];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const at = process.argv.indexOf('--out');
  const out = at > 0 ? path.resolve(process.argv[at + 1]) : assets;
  const files = await generateIcons(out);
  console.log(`icons written to ${out}: ${files.join(', ')}`);
}
