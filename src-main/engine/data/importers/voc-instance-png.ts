/**
 * Pascal VOC's SegmentationObject/<id>.png: per pixel the 1-based index of the object (in the order
 * of the annotation XML's <object>s), 0 for background and 255 for the "void" border around objects.
 * The files are palette PNGs with VOC's colour map; sharp expands palettes to RGB, so colours are
 * mapped back to indices through that map. Greyscale PNGs (some tools write those) hold the index
 * itself.
 */
import sharp from 'sharp';

export const VOC_VOID_INDEX = 255;

/** VOC's colour map: index i -> RGB by spreading i's bits over the channels' high bits. */
export function vocColour(i: number): [number, number, number] {
  let r = 0;
  let g = 0;
  let b = 0;
  let c = i;
  for (let j = 0; j < 8; j++) {
    r |= (c & 1) << (7 - j);
    g |= ((c >> 1) & 1) << (7 - j);
    b |= ((c >> 2) & 1) << (7 - j);
    c >>= 3;
  }
  return [r, g, b];
}

const COLOUR_TO_INDEX = new Map<number, number>(
  Array.from({ length: 256 }, (_, i) => {
    const [r, g, b] = vocColour(i);
    return [(r << 16) | (g << 8) | b, i];
  }),
);

export type VocInstanceMap =
  { ok: true; width: number; height: number; indices: Uint8Array } | { ok: false; reason: string };

/** The index per pixel (row-major) of an instance PNG, or why it cannot be read as one. */
export async function readVocInstancePng(file: string): Promise<VocInstanceMap> {
  let data: Buffer;
  let info: sharp.OutputInfo;
  let grey: boolean;
  try {
    const img = sharp(file);
    // sharp hands greyscale out as RGB too: ask the file whether it is greyscale
    const meta = await img.metadata();
    grey = (meta.channels ?? 3) <= 2 && !meta.isPalette;
    ({ data, info } = await img.raw().toBuffer({ resolveWithObject: true }));
  } catch (err) {
    return { ok: false, reason: `cannot decode (${(err as Error).message})` };
  }
  const { width, height, channels } = info;
  const indices = new Uint8Array(width * height);
  for (let p = 0; p < width * height; p++) {
    const q = p * channels;
    if (grey) {
      indices[p] = data[q]!;
      continue;
    }
    const key = (data[q]! << 16) | (data[q + 1]! << 8) | data[q + 2]!;
    const index = COLOUR_TO_INDEX.get(key);
    if (index === undefined) {
      const x = p % width;
      return {
        ok: false,
        reason: `colour rgb(${data[q]}, ${data[q + 1]}, ${data[q + 2]}) at (${x}, ${(p - x) / width}) is not in VOC's palette`,
      };
    }
    indices[p] = index;
  }
  return { ok: true, width, height, indices };
}
