import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import {
  type AugmentImpl,
  IMAGENET_MEAN,
  IMAGENET_STD,
  JITTER_OPS,
  type ViewParams,
  applyViewParams,
  blurKernelSize,
  makeViewBatch,
  sampleCropParams,
  sampleViewParams,
} from '../../../src-main/engine/data/augment';
import { generateDemoScenes } from '../../../src-main/engine/data/demo-scenes';
import type { RawImage } from '../../../src-main/engine/data/raw-image';
import { Rng } from '../../../src-main/engine/data/rng';

const IMPLS: AugmentImpl[] = ['tensor', 'js'];

/** R = x, G = y, B = 255 − x: bilinear sampling of this image is exact, so positions are checkable. */
function rampImage(w: number, h: number, id = 'ramp'): RawImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([x, y, 255 - x], (y * w + x) * 3);
  return { id, width: w, height: h, data };
}

function plain(crop: ViewParams['crop'], extra: Partial<ViewParams> = {}): ViewParams {
  return { crop, flip: false, jitter: null, grayscale: false, blurSigma: null, solarize: false, ...extra };
}

function cropOf(
  top: number,
  left: number,
  height: number,
  width: number,
  W: number,
  H: number,
): ViewParams['crop'] {
  return { top, left, height, width, box: [top / H, left / W, (top + height) / H, (left + width) / W] };
}

async function values(t: tf.Tensor): Promise<Float32Array> {
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('augmentation parameters', () => {
  it('samples RandomResizedCrop boxes within the area and aspect bounds', () => {
    const rng = new Rng(1);
    const W = 200;
    const H = 120;
    const areas: number[] = [];
    const bad: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const c = sampleCropParams(rng, W, H, [0.08, 1]);
      if (!(c.top >= 0 && c.left >= 0 && c.top + c.height <= H && c.left + c.width <= W))
        bad.push(`outside ${JSON.stringify(c)}`);
      const area = (c.width * c.height) / (W * H);
      areas.push(area);
      // Rounding w and h moves the area and ratio by at most about one pixel per side.
      if (area < 0.08 * (1 - 2 / Math.min(c.width, c.height)) - 1e-9) bad.push(`area ${area}`);
      const ratio = c.width / c.height;
      if (ratio < (3 / 4) * (1 - 1.5 / c.height) - 1e-9 || ratio > (4 / 3) * (1 + 1.5 / c.width) + 1e-9)
        bad.push(`ratio ${ratio}`);
      const [y1, x1, y2, x2] = c.box;
      if (Math.abs(y1 - c.top / H) > 1e-12 || Math.abs(x2 - (c.left + c.width) / W) > 1e-12)
        bad.push(`box ${c.box}`);
      if (!(y2 > y1 && x2 > x1 && y2 <= 1 && x2 <= 1)) bad.push(`box order ${c.box}`);
    }
    expect(bad).toEqual([]);
    // Expected mean accepted area, integrated independently: (a, log r) uniform on
    // [0.08, 1] × [log 3/4, log 4/3], kept where the crop fits: h = √(a·W·H/r) ≤ H ⇔ a ≤ (H/W)·r
    // (the width always fits here). The centre fallback (area 0.8) has probability (1 − p)^10.
    let kept = 0;
    let keptArea = 0;
    let total = 0;
    const steps = 400;
    for (let i = 0; i < steps; i++) {
      const r = Math.exp(Math.log(3 / 4) + ((i + 0.5) / steps) * Math.log(16 / 9));
      for (let j = 0; j < steps; j++) {
        const a = 0.08 + ((j + 0.5) / steps) * 0.92;
        total++;
        if (a <= (H / W) * r) {
          kept++;
          keptArea += a;
        }
      }
    }
    const pFail10 = (1 - kept / total) ** 10;
    const expected = (1 - pFail10) * (keptArea / kept) + pFail10 * ((160 * 120) / (W * H));
    const mean = areas.reduce((s, v) => s + v, 0) / areas.length;
    expect(Math.abs(mean - expected)).toBeLessThan(0.01);
    expect(Math.min(...areas)).toBeLessThan(0.1);
    expect(Math.max(...areas)).toBeGreaterThan(0.75);
  });

  it('falls back to the centre crop with clamped aspect after 10 failed tries', () => {
    // A 1000×10 strip with area ≥ 0.9: no 3:4…4:3 crop fits, so every try fails.
    const c = sampleCropParams(new Rng(3), 1000, 10, [0.9, 1]);
    expect([c.top, c.left, c.height, c.width]).toEqual([0, 493, 10, 13]);
    const tall = sampleCropParams(new Rng(3), 10, 1000, [0.9, 1]);
    expect([tall.top, tall.left, tall.height, tall.width]).toEqual([493, 0, 13, 10]);
    // A square image with scale exactly 1 takes the whole image on the first try.
    const whole = sampleCropParams(new Rng(3), 50, 50, [1, 1], [1, 1]);
    expect([whole.top, whole.left, whole.height, whole.width]).toEqual([0, 0, 50, 50]);
  });

  it('uses BYOL probabilities: view 1 always blurs and never solarizes; view 2 and scale as published', () => {
    const n = 4000;
    const count = (view: 1 | 2 | 'scale') => {
      const rng = new Rng(view === 1 ? 10 : view === 2 ? 20 : 30);
      const c = { flip: 0, jitter: 0, gray: 0, blur: 0, sol: 0 };
      const bad: string[] = [];
      const orders = new Set<string>();
      for (let i = 0; i < n; i++) {
        const p = sampleViewParams(rng, { width: 100, height: 80 }, { size: 32, minCropScale: 0.08, view });
        c.flip += +p.flip;
        c.jitter += +(p.jitter !== null);
        c.gray += +p.grayscale;
        c.blur += +(p.blurSigma !== null);
        c.sol += +p.solarize;
        if (p.blurSigma !== null && !(p.blurSigma >= 0.1 && p.blurSigma < 2))
          bad.push(`sigma ${p.blurSigma}`);
        const j = p.jitter;
        if (j) {
          if ([...j.order].sort().join() !== [...JITTER_OPS].sort().join()) bad.push(`order ${j.order}`);
          if (!(j.brightness >= 0.6 && j.brightness < 1.4)) bad.push(`brightness ${j.brightness}`);
          if (!(j.contrast >= 0.6 && j.contrast < 1.4)) bad.push(`contrast ${j.contrast}`);
          if (!(j.saturation >= 0.8 && j.saturation < 1.2)) bad.push(`saturation ${j.saturation}`);
          if (!(Math.abs(j.hue) <= 0.1)) bad.push(`hue ${j.hue}`);
          orders.add(j.order.join());
        }
      }
      expect(bad).toEqual([]);
      expect(orders.size).toBe(24); // every permutation occurs
      return Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v / n])) as typeof c;
    };
    const v1 = count(1);
    const v2 = count(2);
    const vs = count('scale');
    const near = (x: number, p: number) => expect(Math.abs(x - p)).toBeLessThan(0.03);
    near(v1.flip, 0.5);
    near(v1.jitter, 0.8);
    near(v1.gray, 0.2);
    expect(v1.blur).toBe(1);
    expect(v1.sol).toBe(0);
    near(v2.flip, 0.5);
    near(v2.jitter, 0.8);
    near(v2.blur, 0.1);
    near(v2.sol, 0.2);
    near(vs.blur, 0.1);
    near(vs.sol, 0.2);
    expect(blurKernelSize(224)).toBe(23);
    expect(blurKernelSize(96)).toBe(9);
  });
});

describe('augmentation pixels', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('crops with half-pixel centres and edge clamping, and flips through the box', async () => {
    const W = 120;
    const H = 80;
    const img = rampImage(W, H);
    const S = 16;
    const check = async (top: number, left: number, h: number, w: number, flip: boolean) => {
      const out = await values(
        applyViewParams([img], [plain(cropOf(top, left, h, w, W, H), { flip })], S, {
          normalize: false,
          impl: 'tensor',
        }),
      );
      for (const k of [0, 3, S - 1]) {
        const srcX = Math.min(Math.max(left + ((flip ? S - 1 - k : k) + 0.5) * (w / S) - 0.5, 0), W - 1);
        const srcY = Math.min(Math.max(top + (k + 0.5) * (h / S) - 0.5, 0), H - 1);
        const at = (y: number, x: number, c: number) => out[(y * S + x) * 3 + c]! * 255;
        expect(Math.abs(at(5, k, 0) - srcX)).toBeLessThan(2e-3);
        expect(Math.abs(at(k, 5, 1) - srcY)).toBeLessThan(2e-3);
        expect(Math.abs(at(5, k, 2) - (255 - srcX))).toBeLessThan(2e-3);
      }
    };
    await check(10, 20, 40, 60, false); // downscale inside the image
    await check(0, 0, 8, 8, false); // upscale at the corner: first samples clamp to the edge
    await check(72, 112, 8, 8, true); // upscale at the far corner, flipped
    await check(0, 0, H, W, true); // whole image, flipped
  });

  it('flip mirrors exactly; grayscale gives equal channels; solarize inverts above the threshold', async () => {
    const { images } = generateDemoScenes({ count: 2, size: 48, seed: 1 });
    const crop = cropOf(4, 6, 30, 36, 48, 48);
    for (const impl of IMPLS) {
      const base = tf.tidy(() =>
        applyViewParams(images, [plain(crop), plain(crop)], 24, { normalize: false, impl }),
      );
      const flipped = applyViewParams(images, [plain(crop, { flip: true }), plain(crop)], 24, {
        normalize: false,
        impl,
      });
      const b = (await base.data()) as Float32Array;
      const mirrored = await values(tf.tidy(() => tf.reverse(base, 2)));
      const f = await values(flipped);
      const plane = 24 * 24 * 3;
      expect(maxAbsDiff(f.subarray(0, plane), mirrored.subarray(0, plane))).toBe(0);
      expect(maxAbsDiff(f.subarray(plane), b.subarray(plane))).toBe(0); // image 2 untouched

      const grey = await values(
        applyViewParams(images, [plain(crop, { grayscale: true }), plain(crop)], 24, {
          normalize: false,
          impl,
        }),
      );
      let spread = 0;
      for (let t = 0; t < plane; t += 3) {
        expect(Math.abs(grey[t]! - grey[t + 1]!)).toBeLessThan(1e-6);
        expect(Math.abs(grey[t]! - grey[t + 2]!)).toBeLessThan(1e-6);
        const expected = 0.2989 * b[t]! + 0.587 * b[t + 1]! + 0.114 * b[t + 2]!;
        expect(Math.abs(grey[t]! - expected)).toBeLessThan(1e-5);
        spread = Math.max(spread, Math.abs(b[t]! - b[t + 1]!));
      }
      expect(spread).toBeGreaterThan(0.1); // the source really was coloured

      const sol = await values(
        applyViewParams(images, [plain(crop), plain(crop, { solarize: true })], 24, {
          normalize: false,
          impl,
        }),
      );
      let above = 0;
      for (let t = plane; t < 2 * plane; t++) {
        const x = b[t]!;
        expect(Math.abs(sol[t]! - (x >= 0.5 ? 1 - x : x))).toBeLessThan(1e-6);
        if (x >= 0.5) above++;
      }
      expect(above).toBeGreaterThan(100);
      expect(maxAbsDiff(sol.subarray(0, plane), b.subarray(0, plane))).toBe(0);
      base.dispose();
    }
  });

  it('colour jitter and hue follow the torchvision formulas', async () => {
    // 2×2 image: red, green, grey, dark blue; whole-image crop at the same size is the identity.
    const data = new Uint8Array([255, 0, 0, 0, 255, 0, 128, 128, 128, 0, 0, 102]);
    const img: RawImage = { id: 'px', width: 2, height: 2, data };
    const crop = cropOf(0, 0, 2, 2, 2, 2);
    const jitter = (op: (typeof JITTER_OPS)[number], f: number): ViewParams => {
      const j = {
        order: [op, ...JITTER_OPS.filter((o) => o !== op)],
        brightness: 1,
        contrast: 1,
        saturation: 1,
        hue: 0,
      };
      return plain(crop, { jitter: { ...j, [op]: f } });
    };
    for (const impl of IMPLS) {
      const run = async (p: ViewParams) =>
        Array.from(await values(applyViewParams([img], [p], 2, { normalize: false, impl })));
      const close = (got: number[], want: number[]) =>
        got.forEach((g, i) => expect(g, `${impl}[${i}]`).toBeCloseTo(want[i]!, 5));
      // Hue: red shifted by 1/3 is green; by 0.1 is (1, 0.6, 0); grey is unchanged; blue (h=2/3) + 1/3 wraps to red.
      close((await run(jitter('hue', 1 / 3))).slice(0, 3), [0, 1, 0]);
      close((await run(jitter('hue', 0.1))).slice(0, 6), [1, 0.6, 0, 0, 1, 0.6]);
      const h = await run(jitter('hue', 1 / 3));
      close(h.slice(6, 12), [128 / 255, 128 / 255, 128 / 255, 0.4, 0, 0]);
      close((await run(jitter('hue', -0.1))).slice(0, 3), [1, 0, 0.6]);
      // Brightness 1.4: clamps at 1.
      close(await run(jitter('brightness', 1.4)), [
        1,
        0,
        0,
        0,
        1,
        0,
        Math.min(1, (1.4 * 128) / 255),
        (1.4 * 128) / 255,
        (1.4 * 128) / 255,
        0,
        0,
        0.56,
      ]);
      // Contrast 0.5 toward the mean grey (ITU-R 601 weights).
      const x = Array.from(data, (v) => v / 255);
      const greyMean =
        [0, 1, 2, 3].reduce(
          (s, i) => s + 0.2989 * x[3 * i]! + 0.587 * x[3 * i + 1]! + 0.114 * x[3 * i + 2]!,
          0,
        ) / 4;
      close(
        await run(jitter('contrast', 0.5)),
        x.map((v) => 0.5 * v + 0.5 * greyMean),
      );
      // Saturation 0.8 toward each pixel's own grey.
      const sat = x.map((v, i) => {
        const p = Math.floor(i / 3) * 3;
        return Math.min(
          1,
          Math.max(0, 0.8 * v + 0.2 * (0.2989 * x[p]! + 0.587 * x[p + 1]! + 0.114 * x[p + 2]!)),
        );
      });
      close(await run(jitter('saturation', 0.8)), sat);
      // Order matters: brightness 1.4 then contrast 0.6 ≠ contrast then brightness (clamping).
      const bc = plain(crop, {
        jitter: {
          order: ['brightness', 'contrast', 'saturation', 'hue'],
          brightness: 1.4,
          contrast: 0.6,
          saturation: 1,
          hue: 0,
        },
      });
      const cb = plain(crop, {
        jitter: {
          order: ['contrast', 'brightness', 'saturation', 'hue'],
          brightness: 1.4,
          contrast: 0.6,
          saturation: 1,
          hue: 0,
        },
      });
      expect(Math.abs((await run(bc))[0]! - (await run(cb))[0]!)).toBeGreaterThan(0.05);
    }
  });

  it('blurs with a normalised reflect-padded Gaussian of the sampled sigma', async () => {
    const S = 32;
    // Constant image stays constant (no darkening at borders, as zero padding would give).
    const flat: RawImage = { id: 'flat', width: S, height: S, data: new Uint8Array(S * S * 3).fill(200) };
    const crop = cropOf(0, 0, S, S, S, S);
    // A single bright pixel: its blurred spread has variance sigma² (kernel 2·floor(1.6)+1 = 3 is
    // too short for sigma 1.5, so use a 64-px view where the kernel is 7 taps).
    const big = 64;
    const dotData = new Uint8Array(big * big * 3);
    dotData.set([255, 255, 255], (32 * big + 32) * 3);
    const dot: RawImage = { id: 'dot', width: big, height: big, data: dotData };
    for (const impl of IMPLS) {
      const f = await values(
        applyViewParams([flat], [plain(crop, { blurSigma: 1.7 })], S, { normalize: false, impl }),
      );
      for (const v of f) expect(Math.abs(v - 200 / 255)).toBeLessThan(1e-5);
      const sigma = 1.0;
      const out = await values(
        applyViewParams([dot], [plain(cropOf(0, 0, big, big, big, big), { blurSigma: sigma })], big, {
          normalize: false,
          impl,
        }),
      );
      let sum = 0;
      let varX = 0;
      for (let y = 0; y < big; y++)
        for (let x = 0; x < big; x++) {
          const v = out[(y * big + x) * 3]!;
          sum += v;
          varX += v * (x - 32) ** 2;
        }
      expect(sum).toBeCloseTo(1, 4);
      // Discrete Gaussian truncated at ±3: variance slightly below sigma².
      expect(varX / sum).toBeGreaterThan(0.9 * sigma * sigma);
      expect(varX / sum).toBeLessThan(1.0 * sigma * sigma);
      // Symmetric.
      expect(out[(32 * big + 31) * 3]).toBeCloseTo(out[(32 * big + 33) * 3]!, 6);
      expect(out[(31 * big + 32) * 3]).toBeCloseTo(out[(33 * big + 32) * 3]!, 6);
    }
  });

  it('tensor and js implementations agree on random params, mixed image sizes included', async () => {
    const demo = generateDemoScenes({ count: 5, size: 60, seed: 4 }).images;
    const odd = rampImage(90, 50, 'odd');
    const images = [demo[0]!, odd, demo[1]!, demo[2]!, rampImage(90, 50, 'odd2'), demo[3]!];
    const rng = new Rng(77);
    for (const view of [1, 2] as const) {
      const params = images.map((img) => sampleViewParams(rng, img, { size: 32, minCropScale: 0.08, view }));
      // Force every stage to appear somewhere in the batch.
      params[0]!.solarize = true;
      params[1]!.grayscale = true;
      params[2]!.blurSigma = 1.3;
      params[3]!.jitter = {
        order: ['hue', 'saturation', 'contrast', 'brightness'],
        brightness: 1.3,
        contrast: 0.7,
        saturation: 1.15,
        hue: 0.07,
      };
      const t = await values(applyViewParams(images, params, 32, { impl: 'tensor' }));
      const j = await values(applyViewParams(images, params, 32, { impl: 'js' }));
      expect(maxAbsDiff(t, j)).toBeLessThan(1e-4);
      // Each image equals itself rendered alone (grouping by size and reordering is transparent).
      const plane = 32 * 32 * 3;
      for (const i of [1, 4, 5]) {
        const alone = await values(applyViewParams([images[i]!], [params[i]!], 32, { impl: 'tensor' }));
        expect(maxAbsDiff(alone, t.subarray(i * plane, (i + 1) * plane))).toBeLessThan(1e-5);
      }
    }
  });

  it('makeViewBatch is reproducible per seed, differs across seeds, normalises plausibly, and leaks nothing', async () => {
    const { images } = generateDemoScenes({ count: 8, size: 80, seed: 2 });
    for (const impl of IMPLS) {
      const run = async (seed: number, view: 1 | 2 | 'scale', size: number) => {
        const rng = new Rng(seed);
        const batch = makeViewBatch(images, rng, { size, minCropScale: 0.08, view }, { impl });
        expect(batch.pixels.shape).toEqual([8, size, size, 3]);
        expect(batch.boxes.length).toBe(8);
        expect(batch.flipped).toEqual(batch.params.map((p) => p.flip));
        return { px: await values(batch.pixels), boxes: batch.boxes, state: rng.getState() };
      };
      const a = await run(5, 1, 32);
      const b = await run(5, 1, 32);
      const c = await run(6, 1, 32);
      expect(maxAbsDiff(a.px, b.px)).toBe(0);
      expect(a.boxes).toEqual(b.boxes);
      expect(a.state).toEqual(b.state);
      expect(maxAbsDiff(a.px, c.px)).toBeGreaterThan(0.5);
      expect(a.boxes).not.toEqual(c.boxes);
      const s = await run(5, 'scale', 16);
      expect(s.px.length).toBe(8 * 16 * 16 * 3);

      // Normalised statistics: per channel, mean near 0 and spread near 1 for natural-ish images.
      for (let ch = 0; ch < 3; ch++) {
        let sum = 0;
        let sum2 = 0;
        let n = 0;
        for (let t = ch; t < a.px.length; t += 3) {
          sum += a.px[t]!;
          sum2 += a.px[t]! ** 2;
          n++;
        }
        const mean = sum / n;
        const std = Math.sqrt(sum2 / n - mean * mean);
        expect(Math.abs(mean)).toBeLessThan(1);
        expect(std).toBeGreaterThan(0.3);
        expect(std).toBeLessThan(2);
      }
      let lo = Infinity;
      let hi = -Infinity;
      for (let t = 0; t < a.px.length; t += 3) {
        lo = Math.min(lo, a.px[t]!);
        hi = Math.max(hi, a.px[t]!);
      }
      expect(lo).toBeGreaterThanOrEqual(-IMAGENET_MEAN[0] / IMAGENET_STD[0] - 1e-4);
      expect(hi).toBeLessThanOrEqual((1 - IMAGENET_MEAN[0]) / IMAGENET_STD[0] + 1e-4);

      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) {
        const v = makeViewBatch(
          images,
          new Rng(i),
          { size: 24, minCropScale: 0.08, view: ((i % 2) + 1) as 1 | 2 },
          { impl },
        );
        v.pixels.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
    }
  });
});
