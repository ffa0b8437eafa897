/**
 * The pieces that keep shapes fixed on backends whose buffer pool never frees (webgpu), checked on
 * wasm: size classes pad by at most a quarter; the JS-built input batch holds the same pixels as
 * the TF.js one on its larger canvas (zeros elsewhere); RoIAlign with padding RoIs gives the real
 * RoIs' features unchanged and zeros after them.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { canvasBucket, sizeBucket } from '../../../src-main/engine/backend/shape-buckets';
import type { RawImage } from '../../../src-main/engine/data/raw-image';
import { Rng } from '../../../src-main/engine/data/rng';
import { hostInputBatch } from '../../../src-main/engine/detection/host-input-batch';
import { makeInputBatch } from '../../../src-main/engine/detection/inputs';
import { planRoiAlign, roiAlign } from '../../../src-main/engine/detection/roi-align';

beforeAll(async () => {
  await initBackend('wasm', { env: {} });
});

describe('size classes', () => {
  it('round up by at most a quarter, to few distinct values', () => {
    const seen = new Set<number>();
    let previous = 0;
    for (let n = 0; n <= 5000; n++) {
      const b = sizeBucket(n);
      expect(b).toBeGreaterThanOrEqual(n);
      expect(b).toBeGreaterThanOrEqual(previous);
      if (n > 8) expect(b / n).toBeLessThanOrEqual(1.25);
      previous = b;
      seen.add(b);
    }
    // Four per octave: 9 up to 8, then 4 × 9 octaves (8 … 4096) and the next class.
    expect(seen.size).toBeLessThanOrEqual(9 + 4 * 10);
    expect(sizeBucket(100)).toBe(112);
    expect(() => sizeBucket(2.5)).toThrow('sizeBucket: 2.5 is not a whole number');
  });

  it('canvas sides are size classes of the divisibility', () => {
    expect([48, 64, 65, 800, 1067, 1333].map((s) => canvasBucket(s, 32))).toEqual([
      64, 64, 96, 896, 1280, 1536,
    ]);
  });
});

describe('hostInputBatch', () => {
  it('holds the TF.js batch’s pixels (resized, flipped, normalised) on a larger zero canvas', async () => {
    const rng = new Rng(4);
    const image = (id: string, height: number, width: number): RawImage => ({
      id,
      width,
      height,
      data: Uint8Array.from({ length: height * width * 3 }, () => Math.floor(rng.next() * 256)),
    });
    const images = [image('a', 30, 50), image('b', 44, 36)];
    const shapes: [number, number][] = [
      [43, 72],
      [75, 61],
    ];
    const flips = [true, false];
    const tight = makeInputBatch(images, shapes, flips, 32);
    const host = hostInputBatch(images, shapes, flips, 32);
    const [N, H, W] = tight.images.shape;
    const [, Hc, Wc] = host.shape;
    expect([H, W]).toEqual([96, 96]);
    expect([Hc, Wc]).toEqual([96, 96].map((s) => canvasBucket(s, 32)));
    const a = (await tight.images.data()) as Float32Array;
    const b = (await host.data()) as Float32Array;
    let diff = 0;
    let outside = 0;
    for (let n = 0; n < N; n++)
      for (let y = 0; y < Hc; y++)
        for (let x = 0; x < Wc; x++)
          for (let c = 0; c < 3; c++) {
            const v = b[((n * Hc + y) * Wc + x) * 3 + c]!;
            if (y < H && x < W) diff = Math.max(diff, Math.abs(v - a[((n * H + y) * W + x) * 3 + c]!));
            else outside = Math.max(outside, Math.abs(v));
          }
    // Float rounding only: the tensor path computes in float32, this one in float64 then stores.
    expect(diff).toBeLessThan(1e-4);
    expect(outside).toBe(0);
    tf.dispose([tight.images, host]);
  });
});

describe('RoIAlign with padding RoIs', () => {
  it('gives the real RoIs unchanged and zeros for the padding', async () => {
    const level = tf.tensor4d(
      Float32Array.from({ length: 2 * 8 * 8 * 4 }, (_, i) => Math.sin(i)),
      [2, 8, 8, 4],
    );
    const boxes = Float32Array.from([4, 4, 20, 28, 0, 8, 31, 30, 10, 2, 14, 6]);
    const batchIndex = Int32Array.from([0, 1, 1]);
    const levels = [{ batch: 2, height: 8, width: 8, stride: 4 }];
    const plain = planRoiAlign(boxes, batchIndex, [0, 0, 0], levels, 3, 0);
    const padded = planRoiAlign(boxes, batchIndex, [0, 0, 0], levels, 3, 0, 8);
    expect(padded.numRois).toBe(8);
    const a = (await roiAlign([level], plain).data()) as Float32Array;
    const out = roiAlign([level], padded);
    expect(out.shape).toEqual([8, 3, 3, 4]);
    const b = (await out.data()) as Float32Array;
    expect(b.subarray(0, a.length)).toEqual(a);
    expect(b.subarray(a.length).every((v) => v === 0)).toBe(true);
    expect(() => planRoiAlign(boxes, batchIndex, [0, 0, 0], levels, 3, 0, 2)).toThrow(
      'roiAlign: numRois 2 is fewer than the 3 boxes',
    );
    tf.dispose([level, out]);
  });
});
