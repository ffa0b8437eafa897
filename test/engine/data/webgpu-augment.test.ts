/**
 * Augmentation on a device backend (webgpu, SwiftShader here): the views of a batch of images of
 * mixed sizes equal wasm's (1e-4), in-process and through the loader with prefetch on (a wasm worker
 * renders, the main thread uploads) and off (webgpu renders, on one size-class canvas); and with
 * prefetch off a run of batches keeps webgpu's tensors and GPU bytes flat (the crop-resize no longer
 * uploads one tensor per image size in the batch). Tiny: 32 px views of ≤ 56 px images.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { deviceMemory, type DeviceMemory } from '../../../src-main/engine/backend/device-memory';
import { initBackend, releaseBackend } from '../../../src-main/engine/backend/select';
import { applyViewParams, sampleViewBatchParams, type ViewSpec } from '../../../src-main/engine/data/augment';
import { createPretrainLoader } from '../../../src-main/engine/data/loader';
import type { RawImage } from '../../../src-main/engine/data/raw-image';
import { Rng } from '../../../src-main/engine/data/rng';
import { expectFlatMemory, probeWebGpu, reportSkip } from '../backend/webgpu-harness';

const probe = await probeWebGpu();
reportSkip('webgpu-augment.test.ts', probe);
afterAll(() => releaseBackend());

const SPECS: ViewSpec[] = [
  { size: 32, minCropScale: 0.08, view: 1 },
  { size: 32, minCropScale: 0.08, view: 2 },
  { size: 16, minCropScale: 0.08, view: 'scale' },
];

/** Images of three sizes, so that batches mix them differently from step to step. */
function images(count: number): RawImage[] {
  const rng = new Rng(3);
  const sizes: [number, number][] = [
    [40, 56],
    [48, 48],
    [56, 36],
  ];
  return Array.from({ length: count }, (_, i) => {
    const [height, width] = sizes[i % sizes.length]!;
    const data = Uint8Array.from({ length: height * width * 3 }, () => Math.floor(rng.next() * 256));
    return { id: `img${i}`, width, height, data };
  });
}

async function maxDiff(a: tf.Tensor, b: Float32Array): Promise<number> {
  const x = (await a.data()) as Float32Array;
  expect(x.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i]! - b[i]!));
  return d;
}

describe.skipIf(!probe.info)('augmentation on webgpu', () => {
  const imgs = images(6);
  const params = SPECS.map((spec) => sampleViewBatchParams(imgs, new Rng(9), spec));

  it('renders the same views as wasm, in-process', async () => {
    await initBackend('wasm', { env: {} });
    const expected = await Promise.all(
      SPECS.map(async (spec, v) => {
        const t = applyViewParams(imgs, params[v]!, spec.size);
        const values = Float32Array.from(await t.data());
        t.dispose();
        return values;
      }),
    );
    await initBackend('webgpu', { env: {} });
    for (const [v, spec] of SPECS.entries()) {
      const t = applyViewParams(imgs, params[v]!, spec.size);
      expect(await maxDiff(t, expected[v]!), `view ${spec.view}`).toBeLessThan(1e-4);
      t.dispose();
    }
  }, 300_000);

  it('the loader works with prefetch on and off, equal to wasm, with flat memory when rendering on webgpu', async () => {
    const render = async (backend: 'wasm' | 'webgpu', prefetch: 'none' | 'worker', batches: number) => {
      await initBackend(backend, { env: {} });
      const loader = createPretrainLoader({
        images: imgs,
        batchSize: 2,
        rng: new Rng(21),
        viewSpecs: SPECS,
        prefetch,
      });
      const out: Float32Array[][] = [];
      const memory: DeviceMemory[] = [];
      try {
        for (let b = 0; b < batches; b++) {
          const batch = await loader.next();
          out.push(await Promise.all(batch.views.map(async (v) => Float32Array.from(await v.pixels.data()))));
          batch.dispose();
          memory.push(deviceMemory());
        }
      } finally {
        await loader.close();
      }
      return { out, memory };
    };
    // Six batches of two: every pairing of the three image sizes the shuffle produces, twice over.
    const reference = await render('wasm', 'none', 6);
    for (const prefetch of ['worker', 'none'] as const) {
      const gpu = await render('webgpu', prefetch, 6);
      gpu.out.forEach((views, b) =>
        views.forEach((pixels, v) => {
          let d = 0;
          for (let i = 0; i < pixels.length; i++)
            d = Math.max(d, Math.abs(pixels[i]! - reference.out[b]![v]![i]!));
          expect(d, `prefetch ${prefetch}, batch ${b}, view ${v}`).toBeLessThan(1e-4);
        }),
      );
      // Nothing leaks, and once the pool has filled no tensor-sized GPU buffer is allocated.
      expectFlatMemory(gpu.memory, `prefetch ${prefetch}`);
    }
  }, 600_000);
});
