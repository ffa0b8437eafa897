/**
 * A minimal Windows BMP decoder: libvips (and so sharp) has no BMP loader, and BMP is common in
 * older labelled datasets. Supports uncompressed BI_RGB at 1/4/8 bits (palette) and 24/32 bits,
 * and 32-bit BI_BITFIELDS; bottom-up (positive height) and top-down (negative height) rows.
 * Anything else fails with a message saying what the file is.
 */

export interface DecodedBmp {
  width: number;
  height: number;
  /** RGB, top row first. */
  data: Uint8Array;
}

const BI_RGB = 0;
const BI_RLE8 = 1;
const BI_RLE4 = 2;
const BI_BITFIELDS = 3;
const COMPRESSION_NAMES: Record<number, string> = {
  [BI_RLE8]: 'RLE8',
  [BI_RLE4]: 'RLE4',
  [BI_BITFIELDS]: 'BITFIELDS',
  4: 'JPEG',
  5: 'PNG',
  6: 'ALPHABITFIELDS',
};

/** True when the buffer starts with the BMP magic "BM". */
export function isBmp(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x42 && buf[1] === 0x4d;
}

/** Position and width of a channel mask, to extract an 8-bit value from a 32-bit pixel. */
function maskShift(mask: number): { shift: number; bits: number } {
  if (mask === 0) return { shift: 0, bits: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  let bits = 0;
  while (shift + bits < 32 && ((mask >>> (shift + bits)) & 1) === 1) bits++;
  return { shift, bits };
}

function scaleTo8(v: number, bits: number): number {
  if (bits === 0) return 0;
  if (bits >= 8) return v >>> (bits - 8);
  return Math.round((v * 255) / ((1 << bits) - 1));
}

/** Decodes a BMP held in memory; throws an Error describing the unsupported or damaged part. */
export function decodeBmp(input: Uint8Array): DecodedBmp {
  if (!isBmp(input)) throw new Error('not a BMP file (missing "BM" signature)');
  if (input.length < 26) throw new Error(`truncated BMP header (${input.length} bytes)`);
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const pixelOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);

  let width: number;
  let rawHeight: number;
  let bitCount: number;
  let compression = BI_RGB;
  let colorsUsed = 0;
  let paletteEntrySize = 4;
  if (headerSize === 12) {
    // BITMAPCOREHEADER (OS/2 1.x): 16-bit dimensions, 3-byte palette entries.
    width = view.getUint16(18, true);
    rawHeight = view.getInt16(20, true);
    bitCount = view.getUint16(24, true);
    paletteEntrySize = 3;
  } else if (headerSize >= 40) {
    if (input.length < 14 + 40) throw new Error(`truncated BMP info header (${input.length} bytes)`);
    width = view.getInt32(18, true);
    rawHeight = view.getInt32(22, true);
    bitCount = view.getUint16(28, true);
    compression = view.getUint32(30, true);
    colorsUsed = view.getUint32(46, true);
  } else {
    throw new Error(`unsupported BMP header size ${headerSize}`);
  }
  const topDown = rawHeight < 0;
  const height = Math.abs(rawHeight);
  if (width <= 0 || height <= 0 || width > 65535 || height > 65535)
    throw new Error(`invalid BMP dimensions ${width}×${rawHeight}`);

  const bitfields32 = compression === BI_BITFIELDS && bitCount === 32;
  if (compression !== BI_RGB && !bitfields32) {
    const name = COMPRESSION_NAMES[compression] ?? `type ${compression}`;
    throw new Error(
      `unsupported BMP compression ${name} at ${bitCount} bits (only uncompressed BI_RGB is decoded)`,
    );
  }
  if (![1, 4, 8, 24, 32].includes(bitCount))
    throw new Error(`unsupported BMP bit depth ${bitCount} (supported: 1, 4, 8, 24, 32)`);

  let palette: Uint8Array | undefined;
  if (bitCount <= 8) {
    const count = colorsUsed > 0 ? Math.min(colorsUsed, 1 << bitCount) : 1 << bitCount;
    const start = 14 + headerSize;
    if (start + count * paletteEntrySize > input.length) throw new Error('truncated BMP palette');
    palette = new Uint8Array(256 * 3);
    for (let i = 0; i < count; i++) {
      const p = start + i * paletteEntrySize;
      palette[i * 3] = input[p + 2]!;
      palette[i * 3 + 1] = input[p + 1]!;
      palette[i * 3 + 2] = input[p]!;
    }
  }

  let rMask = { shift: 16, bits: 8 };
  let gMask = { shift: 8, bits: 8 };
  let bMask = { shift: 0, bits: 8 };
  if (bitfields32) {
    // The masks follow a 40-byte header, and sit at the same offset inside V4/V5 headers.
    if (input.length < 14 + 40 + 12) throw new Error('truncated BMP bitfield masks');
    rMask = maskShift(view.getUint32(54, true));
    gMask = maskShift(view.getUint32(58, true));
    bMask = maskShift(view.getUint32(62, true));
  }

  const stride = Math.floor((bitCount * width + 31) / 32) * 4;
  const needed = pixelOffset + stride * (height - 1) + Math.ceil((bitCount * width) / 8);
  if (pixelOffset < 14 || needed > input.length)
    throw new Error(
      `truncated BMP pixel data (${input.length} bytes, ${needed} needed for ${width}×${height}×${bitCount}-bit)`,
    );

  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const srcRow = pixelOffset + (topDown ? y : height - 1 - y) * stride;
    let o = y * width * 3;
    if (bitCount === 24) {
      for (let x = 0, p = srcRow; x < width; x++, p += 3, o += 3) {
        out[o] = input[p + 2]!;
        out[o + 1] = input[p + 1]!;
        out[o + 2] = input[p]!;
      }
    } else if (bitCount === 32) {
      if (!bitfields32) {
        for (let x = 0, p = srcRow; x < width; x++, p += 4, o += 3) {
          out[o] = input[p + 2]!;
          out[o + 1] = input[p + 1]!;
          out[o + 2] = input[p]!;
        }
      } else {
        for (let x = 0, p = srcRow; x < width; x++, p += 4, o += 3) {
          const v = view.getUint32(p, true);
          out[o] = scaleTo8((v >>> rMask.shift) & ((2 ** rMask.bits - 1) >>> 0), rMask.bits);
          out[o + 1] = scaleTo8((v >>> gMask.shift) & ((2 ** gMask.bits - 1) >>> 0), gMask.bits);
          out[o + 2] = scaleTo8((v >>> bMask.shift) & ((2 ** bMask.bits - 1) >>> 0), bMask.bits);
        }
      }
    } else {
      const pal = palette!;
      const perByte = 8 / bitCount;
      const valueMask = (1 << bitCount) - 1;
      for (let x = 0; x < width; x++, o += 3) {
        const byte = input[srcRow + Math.floor(x / perByte)]!;
        const shift = 8 - bitCount * ((x % perByte) + 1);
        const idx = (byte >> shift) & valueMask;
        out[o] = pal[idx * 3]!;
        out[o + 1] = pal[idx * 3 + 1]!;
        out[o + 2] = pal[idx * 3 + 2]!;
      }
    }
  }
  return { width, height, data: out };
}

/**
 * Encodes RGB (top row first) as a 24-bit BI_RGB BMP; `topDown` writes a negative height.
 * Used by tests and by anyone exporting a BMP fixture.
 */
export function encodeBmp24(width: number, height: number, rgb: Uint8Array, topDown = false): Uint8Array {
  const stride = Math.floor((24 * width + 31) / 32) * 4;
  const size = 54 + stride * height;
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  buf[0] = 0x42;
  buf[1] = 0x4d;
  view.setUint32(2, size, true);
  view.setUint32(10, 54, true);
  view.setUint32(14, 40, true);
  view.setInt32(18, width, true);
  view.setInt32(22, topDown ? -height : height, true);
  view.setUint16(26, 1, true);
  view.setUint16(28, 24, true);
  view.setUint32(30, BI_RGB, true);
  view.setUint32(34, stride * height, true);
  view.setInt32(38, 2835, true);
  view.setInt32(42, 2835, true);
  for (let y = 0; y < height; y++) {
    const row = 54 + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 3;
      buf[row + x * 3] = rgb[s + 2]!;
      buf[row + x * 3 + 1] = rgb[s + 1]!;
      buf[row + x * 3 + 2] = rgb[s]!;
    }
  }
  return buf;
}
