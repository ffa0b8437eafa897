/**
 * The demo generator's instance masks: each annotated object's segmentation is exactly the pixels
 * where it is the topmost object (what its `area` counts and its `bbox` bounds), masks of one image
 * never overlap, and adding them changed neither pixels nor boxes.
 */
import { describe, expect, it } from 'vitest';
import {
  generateDemoScene,
  generateDemoScenes,
  renderDemoScene,
} from '../../../src-main/engine/data/demo-scenes';
import { rleArea, rleToBbox } from '../../../src-main/engine/data/masks/rle';
import { decodeSegmentation, segmentationToRle } from '../../../src-main/engine/data/masks/segmentation';
import { Rng } from '../../../src-main/engine/data/rng';

describe('demo scene instance masks', () => {
  it('are the visible pixels of each annotated object', () => {
    const size = 96;
    const { coco } = generateDemoScenes({ count: 12, size, seed: 7 });
    expect(coco.annotations.length).toBeGreaterThan(24);
    for (const image of coco.images) {
      const anns = coco.annotations.filter((a) => a.image_id === image.id);
      const cover = new Uint8Array(size * size);
      for (const a of anns) {
        expect(typeof a.segmentation.counts).toBe('string');
        const rle = segmentationToRle(a.segmentation, size, size);
        expect(rleArea(rle)).toBe(a.area);
        expect(rleToBbox(rle)).toEqual(a.bbox);
        const m = decodeSegmentation(a.segmentation, size, size);
        m.data.forEach((v, i) => (cover[i] = cover[i]! + v));
      }
      expect(Math.max(...cover)).toBeLessThanOrEqual(1);
    }
  });

  it("equal the renderer's owner map, object by object", () => {
    const size = 64;
    const index = 3;
    const scene = generateDemoScene({ size, seed: 2, stream: 'val' }, index);
    // the same fork generateDemoScene draws from: one render unless the scene was redrawn
    const rendered = renderDemoScene(new Rng(2).fork(`val-${index}`), size);
    const annotated = rendered.objects.flatMap((o, k) => (o.annotated ? [k] : []));
    expect(annotated.length).toBe(scene.annotations.length);
    annotated.forEach((k, j) => {
      const m = decodeSegmentation(scene.annotations[j]!.segmentation, size, size);
      const want = Uint8Array.from(rendered.owner, (o) => (o === k ? 1 : 0));
      expect(m.data).toEqual(want);
    });
    expect(scene.image.data).toEqual(rendered.data);
  });
});
