import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { cpuDemoOverrides, resolvePretrainConfig } from '../../../shared/config/pretrain';
import { generateDemoScenes } from '../../../src-main/engine/data/demo-scenes';
import {
  cacheShortSide,
  loadPretrainImages,
  pretrainViewSpecs,
} from '../../../src-main/engine/data/pretrain-data';
import { removeTempDir, tempDir } from '../../temp-dir';

describe('pretrain data from the run config', () => {
  it('builds the demo set at imageSize × cacheScale, independent of the run seed', async () => {
    const config = resolvePretrainConfig({
      ...cpuDemoOverrides(),
      seed: 7,
      data: { imageSize: 96, demoImages: 24 },
    });
    expect(cacheShortSide(config.data)).toBe(120); // 96 × 1.25
    const progress: number[] = [];
    const loaded = await loadPretrainImages(config.data, { onProgress: (d) => progress.push(d) });
    expect(loaded.images.length).toBe(24);
    expect(loaded.images[0]!.width).toBe(120);
    expect(progress).toEqual([24]);
    const direct = generateDemoScenes({ count: 2, size: 120, seed: 0 });
    expect(loaded.images[1]!.data).toEqual(direct.images[1]!.data);
  });

  it('loads a folder source and names it in errors', async () => {
    const dir = tempDir('selfemd-pd-');
    try {
      await sharp({ create: { width: 50, height: 30, channels: 3, background: '#336699' } })
        .png()
        .toFile(path.join(dir, 'a.png'));
      const config = resolvePretrainConfig({
        data: { source: dir, imageSize: 32, cacheScale: 1.5 },
        emd: { scaleView: false },
      });
      const loaded = await loadPretrainImages(config.data);
      expect(loaded.source).toBe(dir);
      expect([loaded.images[0]!.width, loaded.images[0]!.height]).toEqual([80, 48]);
      expect(Array.from(loaded.images[0]!.data.subarray(0, 3))).toEqual([0x33, 0x66, 0x99]);
      const missing = resolvePretrainConfig({ data: { source: path.join(dir, 'nope') } });
      await expect(loadPretrainImages(missing.data)).rejects.toThrow(path.join(dir, 'nope'));
    } finally {
      removeTempDir(dir);
    }
  });

  it('gives BYOL two views and Self-EMD the extra scale view', () => {
    const selfEmd = resolvePretrainConfig(cpuDemoOverrides());
    expect(pretrainViewSpecs(selfEmd)).toEqual([
      { size: 96, minCropScale: 0.08, view: 1 },
      { size: 96, minCropScale: 0.08, view: 2 },
      // Unset, the scale view is half the image size (the paper's 112 at 224).
      { size: 48, minCropScale: 0.08, view: 'scale' },
    ]);
    const byol = resolvePretrainConfig({ ...cpuDemoOverrides(), method: 'byol' });
    expect(pretrainViewSpecs(byol).map((s) => s.view)).toEqual([1, 2]);
    const noScale = resolvePretrainConfig({ ...cpuDemoOverrides(), emd: { scaleView: false } });
    expect(pretrainViewSpecs(noScale).length).toBe(2);
  });
});
