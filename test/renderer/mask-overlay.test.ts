/**
 * The prediction preview's mask layer: uncompressed COCO RLE (column-major runs, as the server
 * sends them) painted as RGBA rows, later instances on top, in the category colours the boxes use.
 */
import { describe, expect, it } from 'vitest';
import { encodeMask } from '../../src-main/engine/data/masks/rle';
import { categoryColour, categoryRgb } from '../../src-renderer/lib/category-colour';
import { maskOverlayPixels } from '../../src-renderer/lib/mask-overlay';

const alphaAt = (px: Uint8ClampedArray, width: number, x: number, y: number) => px[(y * width + x) * 4 + 3];

describe('maskOverlayPixels', () => {
  it('reads the runs column-major: a 3×2 layer, runs [1, 2, 3] set (x 0, y 1) and (x 1, y 0)', () => {
    const px = maskOverlayPixels(3, 2, [{ counts: [1, 2, 3], rgb: [10, 20, 30] }], 0.5);
    const set = [];
    for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) if (alphaAt(px, 3, x, y)) set.push([x, y]);
    expect(set).toEqual([
      [1, 0],
      [0, 1],
    ]);
    expect(Array.from(px.subarray(4 * 3, 4 * 3 + 4))).toEqual([10, 20, 30, 128]);
  });

  it('equals the engine’s masks pixel for pixel, the later instance on top', () => {
    const [w, h] = [7, 5];
    const a = new Uint8Array(w * h).map((_, i) => ((i * 7919) % 3 === 0 ? 1 : 0));
    const b = new Uint8Array(w * h).map((_, i) => (i % w >= 4 ? 1 : 0));
    const px = maskOverlayPixels(w, h, [
      { counts: encodeMask({ width: w, height: h, data: a }).counts, rgb: [1, 1, 1] },
      { counts: encodeMask({ width: w, height: h, data: b }).counts, rgb: [2, 2, 2] },
    ]);
    for (let i = 0; i < w * h; i++) expect(px[i * 4], `pixel ${i}`).toBe(b[i] ? 2 : a[i] ? 1 : 0);
  });

  it('refuses runs longer than the layer (a mask of another size)', () => {
    expect(() => maskOverlayPixels(2, 2, [{ counts: [0, 3, 2], rgb: [0, 0, 0] }])).toThrow(
      /mask 0: its runs cover more than the 2×2 overlay/,
    );
  });
});

describe('category colours', () => {
  it('give the boxes’ CSS colour and the masks’ RGB of the same hue', () => {
    expect(categoryColour(0)).toBe('hsl(0 80% 60%)');
    expect(categoryRgb(0)).toEqual([235, 71, 71]);
    // hue 137.508°: blue is 0.6 − 0.32 · (9 − 8.5836) = 0.4668 of 255 (CSS Color 4's hsl())
    expect(categoryRgb(1)).toEqual([71, 235, 119]);
  });
});
