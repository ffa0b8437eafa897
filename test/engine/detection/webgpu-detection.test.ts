/**
 * Detectors on webgpu (SwiftShader here). One file, because one process compiles each TF.js program
 * once and a SwiftShader compile costs more CPU than a step: the second part's steps reuse the
 * pipelines the first part compiled (they were two files, each compiling everything).
 *
 * 1. Fine-tuning keeps its memory flat (first, so that it starts from an empty buffer pool): with
 *    multi-scale short sides (40–64 px, a new resize shape almost every step) and, for Faster R-CNN,
 *    RoI and RoIAlign sample counts that change with every batch's proposals, the live tensor count
 *    is the same after every step and no tensor-sized GPU buffer is allocated after the pool has
 *    filled (webgpu's pool never frees: before the shapes were fixed, this run grew by ~1.1 MB a
 *    step — scripts/gpu-memory.ts). Tiny: width 4, 64 px demo scenes, batch 2, 4 steps (the fewest
 *    expectFlatMemory takes: two to fill the pool, two to show it flat; unpadded sizes grow it at
 *    every step, so two catch them).
 * 2. One RetinaNet and one Faster R-CNN training step on webgpu equal the same step on wasm: from
 *    identical weights and the same batch, each loss term within 1e-3 relative and each part's
 *    gradient norm (backbone, fpn, heads) within 1e-2. The step is the fine-tuning loop's own
 *    sequence (prepareLosses off the tape, then losses on it), so it also shows that detection reads
 *    no tensor synchronously (dataSync throws on webgpu in Node). Tiny: width 4, 64 px, batch 2.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveFinetuneConfig, type FinetuneConfig } from '../../../shared/config/finetune';
import { mergeDefaults } from '../../../shared/config/validation';
import { deviceMemory, type DeviceMemory } from '../../../src-main/engine/backend/device-memory';
import { initBackend, releaseBackend } from '../../../src-main/engine/backend/select';
import { generateDemoScenes } from '../../../src-main/engine/data/demo-scenes';
import { Rng } from '../../../src-main/engine/data/rng';
import type { Detector } from '../../../src-main/engine/detection/detector';
import { runFinetune } from '../../../src-main/engine/detection/finetune';
import { detectionDatasetFromCoco } from '../../../src-main/engine/detection/inputs';
import { createDetector } from '../../../src-main/engine/detection/registry';
import { createBackbone } from '../../../src-main/engine/models/registry';
import { partVariables } from '../../../src-main/engine/train/model-parts';
import { keyedVariableGrads } from '../../../src-main/engine/train/variable-grads';
import { expectFlatMemory, probeWebGpu, reportSkip } from '../backend/webgpu-harness';
import { tempRunDir } from './overfit-fixture';
import { TINY_DETECTOR } from './tiny-detector';
import { removeTempDir } from '../../temp-dir';

const probe = await probeWebGpu();
reportSkip('webgpu-detection.test.ts', probe);
const root = tempRunDir('webgpu-finetune-memory');
afterAll(() => {
  releaseBackend();
  removeTempDir(root);
});

const STEPS = 4;
const scenes = generateDemoScenes({ count: 4, size: 64, seed: 11, stream: 'webgpu-finetune-memory' });
const train = detectionDatasetFromCoco(scenes.images, scenes.coco);

describe.skipIf(!probe.info)('fine-tuning on webgpu: flat memory', () => {
  for (const detector of ['faster-rcnn', 'retinanet'] as const)
    it(`${detector} with multi-scale sizes`, async () => {
      await initBackend('webgpu', { env: {} });
      const config = resolveFinetuneConfig(
        mergeDefaults(
          {
            detector,
            ...TINY_DETECTOR,
            data: { minSizeTrain: [40, 64], maxSizeTrain: 96, hflip: true },
            optim: { epochs: STEPS / 2, batchSize: 2, lr: 0.01, warmupFraction: 0.25, decayAt: [0.5] },
            checkpoint: { everySteps: 1000 },
          },
          {},
        ),
      );
      const memory: DeviceMemory[] = [];
      const losses: number[] = [];
      const result = await runFinetune({
        config,
        train,
        runDir: `${root}/${detector}`,
        hooks: {
          onProgress: () => memory.push(deviceMemory()),
          onMetrics: (points) =>
            losses.push(...points.filter((p) => p.key === 'loss/total').map((p) => p.value)),
        },
      });
      expect(result).toMatchObject({ status: 'completed', step: STEPS });
      expect(losses).toHaveLength(STEPS);
      expect(losses.every((l) => Number.isFinite(l) && l > 0)).toBe(true);
      expect(memory).toHaveLength(STEPS);
      expectFlatMemory(memory, detector);
    }, 900_000);
});

const B = 2;
const SIZE = 64;
const SIZES: [number, number][] = [
  [SIZE, SIZE],
  [SIZE, 48],
];
const TARGETS = {
  boxes: [
    Float32Array.from([4, 4, 30, 40, 36, 10, 60, 34]),
    Float32Array.from([10, 20, 44, 50, 0, 0, 16, 16]),
  ],
  classes: [Int32Array.from([1, 0]), Int32Array.from([0, 2])],
};

function stepConfig(detector: 'retinanet' | 'faster-rcnn'): FinetuneConfig {
  return resolveFinetuneConfig({
    detector,
    ...TINY_DETECTOR,
  });
}

type Snapshot = Map<string, Float32Array>;

/** Every variable of the detector (params and buffers) by part key. */
function variables(det: Detector): Map<string, tf.Variable> {
  return new Map([...partVariables(det.parts, 'params'), ...partVariables(det.parts, 'buffers')]);
}

async function oneStep(
  c: FinetuneConfig,
  weights: Snapshot | undefined,
  pixels: Float32Array,
): Promise<{ losses: Record<string, number>; norms: Map<string, number>; weights: Snapshot }> {
  const det = createDetector(c, createBackbone('resnet18', { baseWidth: 4, seed: 1 }), 3);
  try {
    const vars = variables(det);
    if (weights)
      tf.tidy(() => {
        for (const [k, v] of vars) v.assign(tf.tensor(weights.get(k)!, v.shape, 'float32'));
      });
    const snapshot: Snapshot = new Map();
    for (const [k, v] of vars) snapshot.set(k, Float32Array.from(await v.data()));
    const images = tf.tensor4d(pixels, [B, SIZE, SIZE, 3]);
    const ctx = { onBatchStats: () => {}, rng: new Rng(5) };
    const prepared = await det.prepareLosses?.(images, SIZES, TARGETS, ctx);
    let terms: Record<string, tf.Scalar> = {};
    const { value, grads } = keyedVariableGrads(() => {
      const l = det.losses(images, SIZES, TARGETS, ctx, prepared);
      terms = Object.fromEntries(Object.entries(l).map(([k, t]) => [k, tf.keep(t)]));
      return tf.addN(Object.values(l)) as tf.Scalar;
    }, det.trainableParams());
    const losses: Record<string, number> = { total: (await value.data())[0]! };
    for (const [k, t] of Object.entries(terms)) losses[k] = (await t.data())[0]!;
    const squares = new Map<string, number>();
    for (const [k, g] of grads) {
      const part = k.slice(0, k.indexOf('/'));
      const v = (await g.data()) as Float32Array;
      let s = squares.get(part) ?? 0;
      for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
      squares.set(part, s);
    }
    tf.dispose([images, value, ...Object.values(terms), ...grads.values()]);
    return { losses, norms: new Map([...squares].map(([k, s]) => [k, Math.sqrt(s)])), weights: snapshot };
  } finally {
    det.dispose();
  }
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

describe.skipIf(!probe.info)('one detector training step: webgpu equals wasm', () => {
  const rng = new Rng(7);
  const pixels = Float32Array.from({ length: B * SIZE * SIZE * 3 }, () => rng.next() * 4 - 2);
  for (const detector of ['retinanet', 'faster-rcnn'] as const)
    it(
      detector,
      async () => {
        const c = stepConfig(detector);
        await initBackend('wasm', { env: {} });
        const wasm = await oneStep(c, undefined, pixels);
        await initBackend('webgpu', { env: {} });
        const gpu = await oneStep(c, wasm.weights, pixels);
        await initBackend('wasm', { env: {} });
        expect(Object.keys(gpu.losses).sort()).toEqual(Object.keys(wasm.losses).sort());
        expect(wasm.losses.total).toBeGreaterThan(0);
        for (const [k, v] of Object.entries(wasm.losses))
          expect(rel(gpu.losses[k]!, v), k).toBeLessThan(1e-3);
        expect([...gpu.norms.keys()].sort()).toEqual([...wasm.norms.keys()].sort());
        for (const [part, norm] of wasm.norms) {
          expect(norm, part).toBeGreaterThan(0);
          expect(rel(gpu.norms.get(part)!, norm), part).toBeLessThan(1e-2);
        }
      },
      600_000,
    );
});
