/**
 * The VOC importer reads SegmentationObject/<id>.png: instance index colours (VOC's palette) matched
 * to the XML's objects in order, 255 the void border; a PNG it cannot use is reported and only the
 * masks are dropped.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readVocInstancePng, vocColour } from '../../../src-main/engine/data/importers/voc-instance-png';
import { importVoc } from '../../../src-main/engine/data/importers/voc-importer';
import { decodeSegmentation } from '../../../src-main/engine/data/masks/segmentation';
import { makeTempDir, writeImage, writeText } from './fixtures';

const tmp = makeTempDir('voc-masks-');
const root = path.join(tmp.dir, 'VOC');
const W = 16;
const H = 12;
const box = (x0: number, y0: number, x1: number, y1: number) =>
  `<bndbox><xmin>${x0}</xmin><ymin>${y0}</ymin><xmax>${x1}</xmax><ymax>${y1}</ymax></bndbox>`;
const xml = (id: string, objects: [string, string][]) =>
  writeText(
    path.join(root, 'Annotations', `${id}.xml`),
    `<annotation>\n  <filename>${id}.jpg</filename>\n${objects.map(([n, b]) => `  <object><name>${n}</name>${b}</object>`).join('\n')}\n</annotation>\n`,
  );
/** Index map: object 1 in x 1..5 y 1..4, object 2 in x 8..13 y 3..9, a void ring around object 1. */
function indexMap(w = W, h = H): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      if (x >= 1 && x <= 5 && y >= 1 && y <= 4) m[y * w + x] = 1;
      else if (x >= 8 && x <= 13 && y >= 3 && y <= 9) m[y * w + x] = 2;
      else if (x >= 0 && x <= 6 && y >= 0 && y <= 5) m[y * w + x] = 255;
    }
  return m;
}
async function writeRgbPng(file: string, indices: Uint8Array, w = W, h = H, colour = vocColour) {
  mkdirSync(path.dirname(file), { recursive: true });
  const rgb = Buffer.alloc(w * h * 3);
  indices.forEach((v, p) => rgb.set(colour(v), p * 3));
  await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(file);
}
const seg = (id: string) => path.join(root, 'SegmentationObject', `${id}.png`);

beforeAll(async () => {
  for (const id of ['a', 'b', 'c', 'd', 'e'])
    await writeImage(path.join(root, 'JPEGImages', `${id}.jpg`), W, H);
  const objects: [string, string][] = [
    ['cat', box(2, 2, 6, 5)],
    ['dog', box(9, 4, 14, 10)],
    ['cat', box(1, 8, 3, 11)], // no pixel in the PNG
  ];
  xml('a', objects);
  await writeRgbPng(seg('a'), indexMap());
  xml('b', objects.slice(0, 2));
  await writeRgbPng(seg('b'), indexMap(10, 10), 10, 10); // wrong size
  xml('c', objects.slice(0, 2));
  await writeRgbPng(seg('c'), indexMap(), W, H, (v) => (v === 2 ? [1, 2, 3] : vocColour(v))); // off-palette
  // greyscale index PNG with an index the XML does not have
  xml('d', objects.slice(0, 1));
  mkdirSync(path.dirname(seg('d')), { recursive: true });
  const grey = indexMap().map((v) => (v === 2 ? 5 : v));
  await sharp(Buffer.from(grey), { raw: { width: W, height: H, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toFile(seg('d'));
  xml('e', objects.slice(0, 1)); // no PNG at all: boxes only, nothing reported
});
afterAll(() => tmp.cleanup());

describe('importVoc instance masks', () => {
  it('matches index colours to the objects in order and reports what it cannot use', async () => {
    const { dataset, report } = await importVoc(root);
    const byImage = (name: string) => {
      const im = dataset.images.find((i) => path.basename(i.file) === `${name}.jpg`)!;
      return dataset.annotations.filter((a) => a.imageId === im.id);
    };
    const a = byImage('a');
    expect(a).toHaveLength(3);
    const want = indexMap();
    for (const k of [0, 1]) {
      const m = decodeSegmentation(a[k]!.segmentation!, H, W);
      expect(m.data).toEqual(Uint8Array.from(want, (v) => (v === k + 1 ? 1 : 0)));
      expect(a[k]!.area).toBe(k === 0 ? 20 : 42);
    }
    expect(a[2]!.segmentation).toBeUndefined();
    expect(a[2]!.area).toBe(12); // its box
    expect(byImage('b').every((x) => !x.segmentation)).toBe(true);
    expect(byImage('c').every((x) => !x.segmentation)).toBe(true);
    expect(byImage('d')[0]!.segmentation).toBeDefined();
    expect(byImage('e')[0]!.segmentation).toBeUndefined();
    expect(dataset.annotations).toHaveLength(3 + 2 + 2 + 1 + 1);

    const got = report.map((r) => [path.relative(root, r.file), r.line, r.problem]);
    expect(got).toHaveLength(4);
    expect(got).toContainEqual([
      path.join('Annotations', 'a.xml'),
      5,
      '"cat" (object 3) has no pixel in SegmentationObject/a.png: mask skipped, box kept',
    ]);
    expect(got).toContainEqual([
      path.join('SegmentationObject', 'b.png'),
      undefined,
      'instance PNG is 10×10 but the image is 16×12: masks of this image skipped, boxes kept',
    ]);
    expect(got).toContainEqual([
      path.join('SegmentationObject', 'c.png'),
      undefined,
      "colour rgb(1, 2, 3) at (8, 3) is not in VOC's palette: masks of this image skipped, boxes kept",
    ]);
    expect(got).toContainEqual([
      path.join('SegmentationObject', 'd.png'),
      undefined,
      'instance index 5 but the XML has 1 object: those pixels ignored',
    ]);
  });

  it("reads VOC's own palette PNGs", async () => {
    // a real palette PNG, as VOC ships them: colours must come back exactly
    const file = path.join(tmp.dir, 'pal.png');
    const rgb = Buffer.alloc(W * H * 3);
    indexMap().forEach((v, p) => rgb.set(vocColour(v), p * 3));
    await sharp(rgb, { raw: { width: W, height: H, channels: 3 } })
      .png({ palette: true, colours: 4, dither: 0 })
      .toFile(file);
    expect((await sharp(file).metadata()).isPalette).toBe(true);
    const map = await readVocInstancePng(file);
    expect(map.ok && map.indices).toEqual(indexMap());
  });
});
