import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { type AugmentImpl, type ViewSpec, makeViewBatch } from '../../../src-main/engine/data/augment';
import { generateDemoScenes } from '../../../src-main/engine/data/demo-scenes';
import {
  type LoaderState,
  type PretrainBatch,
  createPretrainLoader,
} from '../../../src-main/engine/data/loader';
import type { RawImage } from '../../../src-main/engine/data/raw-image';
import { Rng } from '../../../src-main/engine/data/rng';

const SPECS: ViewSpec[] = [
  { size: 32, minCropScale: 0.08, view: 1 },
  { size: 32, minCropScale: 0.08, view: 2 },
  { size: 16, minCropScale: 0.08, view: 'scale' },
];

interface Snapshot {
  epoch: number;
  step: number;
  ids: string[];
  pixels: Float32Array[];
}

async function snap(b: PretrainBatch): Promise<Snapshot> {
  const pixels = await Promise.all(b.views.map(async (v) => (await v.pixels.data()) as Float32Array));
  b.dispose();
  return { epoch: b.epoch, step: b.step, ids: b.ids, pixels };
}

function expectSame(a: Snapshot, b: Snapshot): void {
  expect([b.epoch, b.step, b.ids]).toEqual([a.epoch, a.step, a.ids]);
  a.pixels.forEach((p, i) => {
    const q = b.pixels[i]!;
    expect(q.length).toBe(p.length);
    let diff = 0;
    for (let t = 0; t < p.length; t++) diff = Math.max(diff, Math.abs(p[t]! - q[t]!));
    expect(diff).toBe(0);
  });
}

describe('pretrain loader', () => {
  let images: RawImage[];
  beforeAll(async () => {
    await initBackend('wasm');
    images = generateDemoScenes({ count: 10, size: 40, seed: 5 }).images;
  });

  it('visits every image once per epoch in a seeded order that changes per epoch', async () => {
    const loader = createPretrainLoader({
      images,
      batchSize: 3,
      rng: new Rng(1),
      viewSpecs: SPECS,
      impl: 'js',
    });
    expect(loader.batchesPerEpoch).toBe(3); // 10 images, last incomplete batch dropped
    const perEpoch: string[][] = [[], []];
    const seen: number[] = [];
    for (let k = 0; k < 6; k++) {
      const b = await loader.next();
      expect(b.views.map((v) => v.pixels.shape)).toEqual([
        [3, 32, 32, 3],
        [3, 32, 32, 3],
        [3, 16, 16, 3],
      ]);
      expect(b.views[0]!.boxes.length).toBe(3);
      expect(b.globalStep).toBe(k);
      expect(b.lastInEpoch).toBe(k % 3 === 2);
      perEpoch[b.epoch]!.push(...b.ids);
      seen.push(b.epoch);
      b.dispose();
    }
    expect(seen).toEqual([0, 0, 0, 1, 1, 1]);
    for (const ids of perEpoch) {
      expect(ids.length).toBe(9);
      expect(new Set(ids).size).toBe(9);
    }
    expect(perEpoch[0]).not.toEqual(perEpoch[1]);
    expect(perEpoch[0]).not.toEqual(images.slice(0, 9).map((i) => i.id)); // shuffled
    // The same seed gives the same order; another seed another.
    const again = createPretrainLoader({
      images,
      batchSize: 3,
      rng: new Rng(1),
      viewSpecs: SPECS,
      impl: 'js',
    });
    const other = createPretrainLoader({
      images,
      batchSize: 3,
      rng: new Rng(2),
      viewSpecs: SPECS,
      impl: 'js',
    });
    const a = await again.next();
    const o = await other.next();
    expect(a.ids).toEqual(perEpoch[0]!.slice(0, 3));
    expect(o.ids).not.toEqual(a.ids);
    a.dispose();
    o.dispose();
    // Without dropLast the short batch is kept.
    const keep = createPretrainLoader({
      images,
      batchSize: 3,
      rng: new Rng(1),
      viewSpecs: SPECS,
      dropLast: false,
      impl: 'js',
    });
    expect(keep.batchesPerEpoch).toBe(4);
    for (let k = 0; k < 3; k++) (await keep.next()).dispose();
    const last = await keep.next();
    expect(last.indices.length).toBe(1);
    expect(last.lastInEpoch).toBe(true);
    last.dispose();
    expect(() => createPretrainLoader({ images, batchSize: 11, rng: new Rng(1), viewSpecs: SPECS })).toThrow(
      /10 images cannot fill one batch of 11/,
    );
  });

  it('resumes bit-for-bit from a JSON-saved state, across an epoch boundary', async () => {
    for (const impl of ['tensor', 'js'] as AugmentImpl[]) {
      const original = createPretrainLoader({
        images,
        batchSize: 4,
        rng: new Rng(9),
        viewSpecs: SPECS,
        impl,
      });
      expect(original.batchesPerEpoch).toBe(2);
      const run: Snapshot[] = [];
      let saved: LoaderState | undefined;
      for (let k = 0; k < 5; k++) {
        const b = await original.next();
        if (k === 2) {
          saved = JSON.parse(JSON.stringify(original.getState())) as LoaderState;
          expect(saved).toEqual(b.stateAfter);
        }
        run.push(await snap(b));
      }
      expect(saved!.epoch).toBe(1);
      expect(saved!.position).toBe(1);
      // A fresh process: same seed, restore, continue.
      const resumed = createPretrainLoader({ images, batchSize: 4, rng: new Rng(9), viewSpecs: SPECS, impl });
      resumed.setState(saved!);
      expectSame(run[3]!, await snap(await resumed.next()));
      expectSame(run[4]!, await snap(await resumed.next()));
      // A loader created from a different seed but restored from the state also continues identically.
      const foreign = createPretrainLoader({
        images,
        batchSize: 4,
        rng: new Rng(12345),
        viewSpecs: SPECS,
        impl,
      });
      foreign.setState(saved!);
      expectSame(run[3]!, await snap(await foreign.next()));
    }
    const l = createPretrainLoader({ images, batchSize: 4, rng: new Rng(9), viewSpecs: SPECS });
    const s = l.getState();
    expect(() =>
      createPretrainLoader({ images, batchSize: 5, rng: new Rng(9), viewSpecs: SPECS }).setState(s),
    ).toThrow(/batches of 4/);
    expect(() => l.setState({ ...s, position: 2 })).toThrow(/invalid saved position/);
  });

  it('renders the same batches in a prefetch worker, resumes there too, and leaks no tensors', async () => {
    const baseline = createPretrainLoader({
      images,
      batchSize: 4,
      rng: new Rng(3),
      viewSpecs: SPECS,
      impl: 'js',
    });
    const expected: Snapshot[] = [];
    for (let k = 0; k < 4; k++) expected.push(await snap(await baseline.next()));

    const before = tf.memory().numTensors;
    const loader = createPretrainLoader({
      images,
      batchSize: 4,
      rng: new Rng(3),
      viewSpecs: SPECS,
      impl: 'js',
      prefetch: 'worker',
    });
    try {
      let saved: LoaderState | undefined;
      for (let k = 0; k < 3; k++) {
        const b = await loader.next();
        if (k === 0) saved = loader.getState();
        expectSame(expected[k]!, await snap(b));
      }
      // getState reflects what was handed out, not what the worker has already prefetched.
      const handedOut = loader.getState();
      expect([handedOut.epoch, handedOut.position]).toEqual([1, 1]);
      loader.setState(saved!);
      expectSame(expected[1]!, await snap(await loader.next()));
      expectSame(expected[2]!, await snap(await loader.next()));
      expectSame(expected[3]!, await snap(await loader.next()));
    } finally {
      await loader.close();
    }
    expect(tf.memory().numTensors).toBe(before);
    await expect(loader.next()).rejects.toThrow(/worker/i);
  });

  it('measures view throughput (batch 16, views 1 + 2 at 96 px) in-process and with worker prefetch', async () => {
    // Timing on a shared machine is noisy: the numbers are logged for the record, and the asserted
    // bounds are loose.
    const scenes = generateDemoScenes({ count: 48, size: 120, seed: 0 }).images; // cacheScale 1.25 × 96
    const specs: ViewSpec[] = [
      { size: 96, minCropScale: 0.08, view: 1 },
      { size: 96, minCropScale: 0.08, view: 2 },
    ];
    const rates: Record<string, number> = {};
    for (const impl of ['tensor', 'js'] as AugmentImpl[]) {
      const rng = new Rng(0);
      const batch = scenes.slice(0, 16);
      for (const s of specs) makeViewBatch(batch, rng, s, { impl }).pixels.dispose(); // warm-up
      const reps = impl === 'js' ? 2 : 1;
      const t0 = performance.now();
      for (let r = 0; r < reps; r++)
        for (const s of specs) {
          const v = makeViewBatch(batch, rng, s, { impl });
          await v.pixels.data();
          v.pixels.dispose();
        }
      rates[impl] = (16 * reps) / ((performance.now() - t0) / 1000);
    }

    // A fake training step keeps the main thread busy. Two loaders, one rendering in-process and
    // one prefetching in a worker, take turns, so load changes on the shared machine hit both
    // alike: in-process next() pays the render; the worker's batch was rendered meanwhile.
    const trainMs = Math.min(600, Math.max(30, (16 / rates.js!) * 1000 * 2));
    const busy = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    const make = (prefetch: 'none' | 'worker') =>
      createPretrainLoader({
        images: scenes,
        batchSize: 16,
        rng: new Rng(1),
        viewSpecs: specs,
        impl: 'js',
        prefetch,
      });
    // One measurement: both loaders take turns for `steps` steps after a warm-up.
    const measure = async () => {
      const loaders = { none: make('none'), worker: make('worker') };
      const waited = { none: 0, worker: 0 };
      const steps = 3;
      try {
        for (let k = -1; k < steps; k++)
          for (const mode of ['none', 'worker'] as const) {
            const w0 = performance.now();
            const b = await loaders[mode].next();
            if (k >= 0) waited[mode] += (performance.now() - w0) / steps; // k = −1: warm-up
            expect(b.views[1]!.pixels.shape).toEqual([16, 96, 96, 3]);
            busy(trainMs);
            b.dispose();
          }
      } finally {
        await loaders.worker.close();
      }
      return waited;
    };
    // Wall-clock time on a machine shared with other test files: the worker thread may get little CPU
    // for a while. Best of three measurements; without overlap (a regression) all three would fail.
    let waited = await measure();
    for (let attempt = 1; attempt < 3 && !(waited.worker < 0.5 * waited.none); attempt++)
      waited = await measure();
    console.log(
      `views 1+2, batch 16 at 96 px: tensor impl ${rates.tensor!.toFixed(0)} img/s, js impl ${rates.js!.toFixed(0)} img/s; ` +
        `time in next() with a ${trainMs.toFixed(0)} ms training step: in-process ${waited.none.toFixed(0)} ms, ` +
        `worker prefetch ${waited.worker.toFixed(0)} ms`,
    );
    expect(rates.js).toBeGreaterThan(10);
    expect(rates.tensor).toBeGreaterThan(2);
    expect(waited.worker).toBeLessThan(0.5 * waited.none);
  });
});
