/**
 * The importers' image check: a truncated JPEG (its header reads, its pixels end early) and images
 * too small to train on are refused with a reason; whole images of any usual size pass with their size.
 */
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { MIN_IMAGE_SIDE, probeImage } from '../../../src-main/engine/data/importers/image-probe';
import { importCoco } from '../../../src-main/engine/data/importers/coco-importer';
import { makeTempDir, writeImage, writeText, writeTruncatedJpeg } from './fixtures';

const tmp = makeTempDir('image-probe-');
afterAll(() => tmp.cleanup());

describe('probeImage', () => {
  it('refuses a truncated JPEG whose header sharp reads', async () => {
    const file = await writeTruncatedJpeg(path.join(tmp.dir, 'cut.jpg'));
    expect((await sharp(file).metadata()).width).toBe(120);
    const probe = await probeImage(file);
    expect(probe).toMatchObject({ ok: false, missing: false });
    expect(!probe.ok && probe.reason).toMatch(
      /image is damaged: the header reads, the pixels do not \(.*premature end/i,
    );
  });

  it(`refuses images with a side under ${MIN_IMAGE_SIDE} px and keeps the rest with their size`, async () => {
    const dot = await probeImage(await writeImage(path.join(tmp.dir, 'dot.png'), 1, 1));
    expect(dot).toEqual({
      ok: false,
      missing: false,
      reason: `image is 1×1 px, too small to train on (a side under ${MIN_IMAGE_SIDE} px)`,
    });
    expect(await probeImage(await writeImage(path.join(tmp.dir, 'strip.jpg'), 300, 4))).toMatchObject({
      ok: false,
    });
    expect(await probeImage(await writeImage(path.join(tmp.dir, 'ok.jpg'), 8, 8))).toEqual({
      ok: true,
      width: 8,
      height: 8,
    });
    expect(await probeImage(await writeImage(path.join(tmp.dir, 'big.webp'), 640, 480))).toEqual({
      ok: true,
      width: 640,
      height: 480,
    });
  });

  it('a COCO import lists the truncated and the tiny image in its report, not among the images', async () => {
    const dir = path.join(tmp.dir, 'coco');
    await writeImage(path.join(dir, 'good.jpg'), 40, 30);
    await writeTruncatedJpeg(path.join(dir, 'cut.jpg'));
    await writeImage(path.join(dir, 'dot.png'), 1, 1);
    const json = writeText(
      path.join(dir, 'instances.json'),
      JSON.stringify({
        images: ['good.jpg', 'cut.jpg', 'dot.png'].map((f, k) => ({ id: k + 1, file_name: f })),
        annotations: [],
        categories: [{ id: 1, name: 'thing' }],
      }),
    );
    const { dataset, report } = await importCoco(json);
    expect(dataset.images.map((im) => path.basename(im.file))).toEqual(['good.jpg']);
    expect(report.map((r) => r.problem).join('\n')).toMatch(/damaged[^\n]*\n[^\n]*1×1 px/);
  });
});
