/**
 * RLE, compressed counts, polygon rasterisation, merge, box and mask IoU against pycocotools' rules:
 * hand-derived cases, published expected values (fixtures/pycocotools-mask-cases.json, see its
 * provenance) and seeded random masks checked against a dense per-pixel implementation.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { BinaryMask } from '../../../../src-main/engine/data/masks/mask-types';
import { rleIou } from '../../../../src-main/engine/data/masks/mask-iou';
import { boxesToRle, polygonToRle, polygonsToRle } from '../../../../src-main/engine/data/masks/polygon';
import {
  decodeRle,
  encodeMask,
  mergeRles,
  rleArea,
  rleToBbox,
  type Rle,
} from '../../../../src-main/engine/data/masks/rle';
import { compressCounts, decompressCounts } from '../../../../src-main/engine/data/masks/rle-string';
import { decodeSegmentation, segmentationToRle } from '../../../../src-main/engine/data/masks/segmentation';
import { rng as mulberry32 } from '../../ssl/reference';

interface Cases {
  height: number;
  width: number;
  bboxes: number[][];
  bboxRles: string[];
  polygons: number[][];
  polygonRles: string[];
  mergedUnion: string;
  mergedIntersection: string;
  iou: { bboxRles01: Record<string, number[][]>; polygonRles012: number[][] };
  uncompressed: { size: [number, number]; counts: number[] };
  uncompressedAsString: string;
}
const cases = JSON.parse(
  readFileSync(
    join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'pycocotools-mask-cases.json'),
    'utf8',
  ),
) as Cases;
const H = cases.height;
const W = cases.width;
const fromString = (s: string): Rle => ({ size: [H, W], counts: decompressCounts(s) });

function maskOf(h: number, w: number, on: (x: number, y: number) => boolean): BinaryMask {
  const data = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = on(x, y) ? 1 : 0;
  return { height: h, width: w, data };
}

describe('RLE encode / decode', () => {
  it('runs column-major and starts with a (possibly empty) run of zeros', () => {
    // 3x2, row-major [[1,0],[1,1],[0,0]]: column 0 top-down 1,1,0 then column 1 0,1,0
    const m: BinaryMask = { height: 3, width: 2, data: Uint8Array.from([1, 0, 1, 1, 0, 0]) };
    const rle = encodeMask(m);
    expect(rle).toEqual({ size: [3, 2], counts: [0, 2, 2, 1, 1] });
    expect(decodeRle(rle)).toEqual(m);
    expect(encodeMask({ height: 2, width: 2, data: new Uint8Array(4) }).counts).toEqual([4]);
    expect(rleArea(rle)).toBe(3);
  });

  it('refuses counts that do not cover the mask', () => {
    expect(() => decodeRle({ size: [2, 2], counts: [1, 2] })).toThrow(/sum to 3 pixels but size 2x2 has 4/);
    expect(() => decodeRle({ size: [2, 2], counts: [1, -1, 4] })).toThrow(/counts\[1\]/);
  });

  it('round-trips seeded random masks', () => {
    const rnd = mulberry32(5);
    for (let n = 0; n < 20; n++) {
      const h = 1 + Math.floor(rnd() * 40);
      const w = 1 + Math.floor(rnd() * 40);
      const p = rnd();
      const m = maskOf(h, w, () => rnd() < p);
      const rle = encodeMask(m);
      expect(decodeRle(rle)).toEqual(m);
      expect(decodeRle({ size: rle.size, counts: decompressCounts(compressCounts(rle.counts)) })).toEqual(m);
    }
  });
});

describe('compressed counts string', () => {
  it('encodes by hand-derived values', () => {
    // 3 -> '3'; 5 -> '5'; the third count is stored as is: 10 -> ':'. The fourth is stored as the
    // difference to counts[1]: 2 - 5 = -3 -> low 5 bits 29 (>= 16, and the rest is -1) -> 48+29 = 'M'.
    expect(compressCounts([3, 5, 10, 2])).toBe('35:M');
    // 400 = 16 + 12*32: first group 16 has the sign bit set, so it needs a continuation: 48+16+32 = '`'
    expect(compressCounts([400])).toBe('`<');
    expect(decompressCounts('35:M')).toEqual([3, 5, 10, 2]);
  });

  it("agrees with pycocotools' string for uncompressed crowd counts", () => {
    expect(compressCounts(cases.uncompressed.counts)).toBe(cases.uncompressedAsString);
    expect(decompressCounts(cases.uncompressedAsString)).toEqual(cases.uncompressed.counts);
  });

  it('is exact for counts beyond 32 bits and for large negative differences', () => {
    const counts = [2 ** 40 + 7, 3, 2 ** 33, 1, 5, 2 ** 45 - 1, 0, 123456789012];
    expect(decompressCounts(compressCounts(counts))).toEqual(counts);
  });

  it('names a character outside the alphabet and a truncated value', () => {
    expect(() => decompressCounts('3~')).toThrow(/character "~" at 1/);
    // 'o' (63) says another group follows
    expect(() => decompressCounts('3o')).toThrow(/end inside a value/);
  });

  it("refuses pycocotools' own invalid-counts example by its size", () => {
    const s =
      'jd`0=`o06J5L4M3L3N2N2N2N2N1O2N2N101N1O2O0O1O2N100O1O2N100O1O1O1O1O101N1O1O1O1O1O1O101N1O100O101O0O100000000000000001O00001O1O0O2O1N3N1N3N3L5Kh0XO6J4K5L5Id[o5N]dPJ7K4K4M3N2M3N2N1O2N100O2O0O1000O01000O101N1O1O2N2N2M3M3M4J7Inml5H[RSJ6L2N2N2N2O000000000000O2O1N2N2Mkm81SRG6L3L3N2O1N2N2O0O2O00001O0000000000O2O001N2O0O2N2N3M3L5JRjf6MPVYI8J4L3N3M2N1O2O1N101N1000000O10000001O000O101N101N1O2N2N2N3L4L7FWZ_50ne`J0000001O000000001O0000001O1O0N3M3N1O2N2N2O1N2O001N2`RO^O`k0c0[TOEak0;\\\\TOJbk07\\\\TOLck03[TO0dk01ZTO2dk0OYTO4gk0KXTO7gk0IXTO8ik0HUTO:kk0ETTO=lk0CRTO>Pl0@oSOb0Rl0\\\\OmSOe0Tl0[OjSOg0Ul0YOiSOi0Wl0XOgSOi0Yl0WOeSOk0[l0VOaSOn0kh0cNmYO';
    expect(() => decodeSegmentation({ size: [1024, 1024], counts: s }, 1024, 1024)).toThrow(/bad RLE/);
  });
});

describe('polygons and boxes (rleFrPoly, rleFrBbox)', () => {
  it("reproduce pycocotools' strings for ten random self-intersecting octagons", () => {
    cases.polygons.forEach((p, j) => {
      expect(compressCounts(polygonToRle(p, H, W).counts), `polygon ${j}`).toBe(cases.polygonRles[j]);
    });
  });

  it("reproduce pycocotools' strings for ten boxes", () => {
    cases.bboxes.forEach((b, j) => {
      expect(compressCounts(boxesToRle([b], H, W).counts), `box ${j}`).toBe(cases.bboxRles[j]);
    });
  });

  it('rasterise an integer rectangle to exactly its pixels', () => {
    // corners (2,1)-(6,4): columns 2..5, rows 1..3
    const m = decodeRle(polygonToRle([2, 1, 6, 1, 6, 4, 2, 4], 6, 8));
    expect(m).toEqual(maskOf(6, 8, (x, y) => x >= 2 && x < 6 && y >= 1 && y < 4));
  });

  it('clip to the image and read [[x, y, w, h]] as a box, as frPyObjects does', () => {
    const m = decodeRle(polygonToRle([-3, -3, 4, -3, 4, 2, -3, 2], 5, 5));
    expect(m).toEqual(maskOf(5, 5, (x, y) => x < 4 && y < 2));
    expect(segmentationToRle([[1, 1, 2, 3]], 5, 5)).toEqual(boxesToRle([[1, 1, 2, 3]], 5, 5));
    expect(rleArea(segmentationToRle([[1, 1, 2, 3]], 5, 5))).toBe(6);
  });

  it('merge parts of one object into one mask', () => {
    const two = polygonsToRle(
      [
        [0, 0, 2, 0, 2, 2, 0, 2],
        [3, 3, 5, 3, 5, 5, 3, 5],
      ],
      6,
      6,
    );
    expect(decodeRle(two)).toEqual(
      maskOf(6, 6, (x, y) => (x < 2 && y < 2) || (x >= 3 && x < 5 && y >= 3 && y < 5)),
    );
  });
});

describe('merge, toBbox, IoU', () => {
  const boxes = cases.bboxRles.map(fromString);

  it("union and intersection equal pycocotools' merge", () => {
    expect(compressCounts(mergeRles(boxes).counts)).toBe(cases.mergedUnion);
    expect(compressCounts(mergeRles(boxes, true).counts)).toBe(cases.mergedIntersection);
  });

  it("toBbox gives back the boxes, and pycocotools' own toBbox tests", () => {
    boxes.forEach((r, j) => expect(rleToBbox(r), `box ${j}`).toEqual(cases.bboxes[j]));
    // cocoapi tests: testToBboxFullImage and testToBboxNonFullImage
    expect(rleToBbox(encodeMask({ height: 2, width: 2, data: Uint8Array.from([0, 1, 1, 1]) }))).toEqual([
      0, 0, 2, 2,
    ]);
    expect(rleToBbox(encodeMask(maskOf(10, 10, (x, y) => y >= 2 && y < 4 && x >= 3 && x < 6)))).toEqual([
      3, 2, 3, 2,
    ]);
    expect(rleToBbox({ size: [4, 4], counts: [16] })).toEqual([0, 0, 0, 0]);
  });

  it('IoU with the crowd rule equals the published matrices', () => {
    for (const [key, want] of Object.entries(cases.iou.bboxRles01)) {
      const crowd = [key[5] === '1', key[6] === '1'];
      for (let d = 0; d < 2; d++)
        for (let g = 0; g < 2; g++)
          expect(rleIou(boxes[d]!, boxes[g]!, crowd[g]!), `${key} d${d} g${g}`).toBeCloseTo(want[d]![g]!, 7);
    }
    const polys = cases.polygonRles.map(fromString);
    for (let d = 0; d < 3; d++)
      for (let g = 0; g < 3; g++)
        // numpy rounds half to even (5/32 = 0.15625 -> 0.1562): compare within half a unit of 1e-4
        expect(
          Math.abs(rleIou(polys[d]!, polys[g]!, false) - cases.iou.polygonRles012[d]![g]!),
        ).toBeLessThanOrEqual(5e-5 + 1e-12);
  });

  it('IoU equals a dense per-pixel count on seeded random masks', () => {
    const rnd = mulberry32(11);
    for (let n = 0; n < 30; n++) {
      const h = 1 + Math.floor(rnd() * 30);
      const w = 1 + Math.floor(rnd() * 30);
      const pa = rnd();
      const pb = rnd();
      const a = maskOf(h, w, () => rnd() < pa);
      const b = maskOf(h, w, () => rnd() < pb);
      let inter = 0;
      let ua = 0;
      let ub = 0;
      for (let i = 0; i < h * w; i++) {
        inter += a.data[i]! & b.data[i]!;
        ua += a.data[i]!;
        ub += b.data[i]!;
      }
      const crowd = n % 3 === 0;
      const want = inter === 0 ? 0 : inter / (crowd ? ua : ua + ub - inter);
      expect(rleIou(encodeMask(a), encodeMask(b), crowd)).toBe(want);
      const union = decodeRle(mergeRles([encodeMask(a), encodeMask(b)]));
      expect(union.data).toEqual(Uint8Array.from(a.data, (v, i) => v | b.data[i]!));
    }
  });
});
