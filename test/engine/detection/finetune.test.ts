/**
 * The fine-tuning loop around the detectors: a paused run resumes bit-for-bit, a finished run
 * reloads for prediction with the same detections, the three backbone inits load exactly what was
 * saved (a real pretraining run's checkpoint, a safetensors export, a TF.js layers export), and
 * `selfemd eval` scores a detections file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { resolveFinetuneConfig, type FinetuneConfig } from '../../../shared/config/finetune';
import { resolvePretrainConfig } from '../../../shared/config/pretrain';
import { evalCommand } from '../../../src-main/cli/commands/eval';
import { initBackend } from '../../../src-main/engine/backend/select';
import { DEMO_CATEGORIES, generateDemoScenes, writeDemoPng } from '../../../src-main/engine/data/demo-scenes';
import { initBackbone } from '../../../src-main/engine/detection/backbone-init';
import { detectSamples } from '../../../src-main/engine/detection/evaluate';
import { runFinetune } from '../../../src-main/engine/detection/finetune';
import { loadDetectionData } from '../../../src-main/engine/detection/datasets';
import { detectionDatasetFromCoco } from '../../../src-main/engine/detection/inputs';
import { loadFinetunedDetector, predictImage } from '../../../src-main/engine/detection/predict';
import { saveBackboneAsTfjsLayers } from '../../../src-main/engine/export/tfjs-layers';
import { writeSafetensors } from '../../../src-main/engine/export/safetensors';
import { backboneToTorchTensors } from '../../../src-main/engine/export/torch-state-dict';
import { createBackbone } from '../../../src-main/engine/models/registry';
import { listCheckpoints, loadCheckpoint } from '../../../src-main/engine/train/checkpoint';
import type { MetricSample } from '../../../src-main/engine/train/training-hooks';
import { runPretraining } from '../../../src-main/engine/train/pretrain';
import { loadPretrainImages } from '../../../src-main/engine/data/pretrain-data';
import { forbidSyncReads, withoutSyncReads } from '../forbid-sync-reads';
import { tempRunDir } from './overfit-fixture';
import { tinyFinetuneConfig } from './tiny-detector';

const root = tempRunDir('finetune');
beforeAll(async () => {
  await initBackend('wasm');
});

const scenes = generateDemoScenes({ count: 4, size: 64, seed: 11, stream: 'finetune-test' });
const data = detectionDatasetFromCoco(scenes.images, scenes.coco);

const tinyConfig = (detector: 'retinanet' | 'faster-rcnn', steps: number): FinetuneConfig =>
  tinyFinetuneConfig(detector, steps);

async function finalTensors(runDir: string): Promise<Map<string, Float32Array>> {
  const last = listCheckpoints(path.join(runDir, 'checkpoints')).at(-1)!;
  const ckpt = loadCheckpoint(last.dir);
  return new Map([...ckpt.tensors].map(([k, v]) => [k, v.data]));
}

describe('runFinetune', () => {
  it('pauses at a checkpoint and resumes bit-for-bit (weights, momentum, BN statistics)', async () => {
    const config = tinyConfig('retinanet', 4);
    const straight = path.join(root, 'straight');
    const paused = path.join(root, 'paused');
    const r1 = await runFinetune({ config, train: data, runDir: straight });
    expect(r1).toMatchObject({ status: 'completed', step: 4, totalSteps: 4 });
    let steps = 0;
    const r2 = await runFinetune({
      config,
      train: data,
      runDir: paused,
      hooks: { onProgress: (p) => (steps = p.step), shouldStop: () => (steps >= 2 ? 'pause' : 'continue') },
    });
    expect(r2).toMatchObject({ status: 'paused', step: 2 });
    const r3 = await runFinetune({ config, train: data, runDir: paused, resume: true });
    expect(r3).toMatchObject({ status: 'completed', step: 4 });
    expect(r3.lastLoss).toBe(r1.lastLoss);
    const a = await finalTensors(straight);
    const b = await finalTensors(paused);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    expect([...a.keys()].some((k) => k.startsWith('model.buffers/fpn/'))).toBe(true);
    for (const [k, v] of a) expect(Array.from(b.get(k)!), k).toEqual(Array.from(v));
  });

  it('leaks no tensor: flat across steps and evaluations, none left after the run (optimizer included)', async () => {
    const config = {
      ...tinyConfig('retinanet', 6),
      eval: { ...tinyConfig('retinanet', 6).eval, everyEpochs: 1 },
    };
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    let evaluations = 0;
    const result = await runFinetune({
      config,
      train: data,
      val: data,
      runDir: path.join(root, 'flat'),
      hooks: { onProgress: () => counts.push(tf.memory().numTensors), onEvaluation: () => evaluations++ },
    });
    expect(result).toMatchObject({ status: 'completed', step: 6 });
    expect(evaluations).toBe(3);
    expect(counts).toHaveLength(6);
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a RetinaNet step, its checkpoints and its resume read no tensor synchronously (WebGPU cannot)', async () => {
    const config = tinyConfig('retinanet', 4);
    const runDir = path.join(root, 'async-reads');
    const restoreSyncReads = forbidSyncReads();
    try {
      let steps = 0;
      const metrics: MetricSample[] = [];
      const paused = await runFinetune({
        config,
        train: data,
        runDir,
        hooks: { onProgress: (p) => (steps = p.step), shouldStop: () => (steps >= 2 ? 'pause' : 'continue') },
      });
      expect(paused).toMatchObject({ status: 'paused', step: 2 });
      const done = await runFinetune({
        config,
        train: data,
        runDir,
        resume: true,
        hooks: { onMetrics: (p) => metrics.push(...p) },
      });
      expect(done).toMatchObject({ status: 'completed', step: 4 });
      // The detector's loss terms are reported beside the total (read with await data()), and add up to it.
      const last = metrics.filter((m) => m.step === 4);
      const terms = last.filter((m) => m.key.startsWith('loss/') && m.key !== 'loss/total');
      expect(terms.length).toBeGreaterThan(1);
      const total = last.find((m) => m.key === 'loss/total')!.value;
      expect(terms.reduce((s, m) => s + m.value, 0)).toBeCloseTo(total, 5);
    } finally {
      restoreSyncReads();
    }
  });

  it('Faster R-CNN and RetinaNet train, evaluate and predict without synchronous reads (WebGPU cannot)', async () => {
    for (const detector of ['faster-rcnn', 'retinanet'] as const) {
      const base = tinyConfig(detector, 2);
      // Low test thresholds: an untrained detector's scores still give detections to compare.
      const config = {
        ...base,
        retinanet: { ...base.retinanet, scoreThreshTest: 0.001 },
        roiHeads: { ...base.roiHeads, scoreThreshTest: 0.001 },
      };
      const runDir = path.join(root, `async-${detector}`);
      const before = tf.memory().numTensors;
      const { result, again, one } = await withoutSyncReads(async () => {
        expect(() => tf.tidy(() => tf.scalar(1).dataSync())).toThrow(/synchronous tensor read/);
        const result = await runFinetune({ config, train: data, val: data, runDir });
        const model = loadFinetunedDetector(runDir);
        try {
          const again = await detectSamples(model.detector, data.samples, data.categories, {
            minSize: 64,
            maxSize: 96,
          });
          return { result, again: again.results, one: await predictImage(model, data.samples[1]!.image, 0) };
        } finally {
          model.detector.dispose();
        }
      });
      expect(tf.memory().numTensors).toBe(before);
      expect(result, detector).toMatchObject({ status: 'completed', step: 2 });
      expect(Number.isFinite(result.lastLoss)).toBe(true);
      const detections = result.evaluation!.detections;
      expect(detections.length, detector).toBeGreaterThan(0);
      expect(result.evaluation!.stats).toHaveLength(12);
      // The reloaded detector (await data() throughout) finds what the evaluation found.
      expect(again).toEqual(detections);
      expect(one.map((d) => d.bbox)).toEqual(detections.filter((d) => d.image_id === 2).map((d) => d.bbox));
    }
  });

  it('a finished Faster R-CNN run reloads and predicts exactly what it evaluated', async () => {
    const config = tinyConfig('faster-rcnn', 2);
    const runDir = path.join(root, 'frcnn');
    const before = tf.memory().numTensors;
    const result = await runFinetune({ config, train: data, val: data, runDir });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.evaluation!.stats).toHaveLength(12);
    const written = JSON.parse(
      fs.readFileSync(path.join(runDir, 'val_detections.json'), 'utf8'),
    ) as unknown[];
    expect(written).toEqual(result.evaluation!.detections);
    const model = loadFinetunedDetector(runDir);
    try {
      expect(model.step).toBe(2);
      expect(model.categories.map((c) => c.name)).toEqual(DEMO_CATEGORIES.map((c) => c.name));
      const again = (
        await detectSamples(model.detector, data.samples, data.categories, { minSize: 64, maxSize: 96 })
      ).results;
      expect(again).toEqual(result.evaluation!.detections);
      const one = await predictImage(model, data.samples[1]!.image, 0);
      expect(one.map((d) => d.bbox)).toEqual(again.filter((d) => d.image_id === 2).map((d) => d.bbox));
    } finally {
      model.detector.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('datasets', () => {
  it('a COCO file on disk loads through the importer; images stored smaller keep boxes in step', async () => {
    const dir = path.join(root, 'coco');
    fs.mkdirSync(dir);
    for (const [i, im] of scenes.images.entries()) await writeDemoPng(path.join(dir, `img${i}.png`), im);
    const coco = {
      ...scenes.coco,
      images: scenes.coco.images.map((im, i) => ({ ...im, file_name: `img${i}.png` })),
    };
    fs.writeFileSync(path.join(dir, 'instances.json'), JSON.stringify(coco));
    const config = resolveFinetuneConfig({
      data: {
        train: path.join(dir, 'instances.json'),
        val: path.join(dir, 'instances.json'),
        minSizeTrain: [32, 32],
        maxSizeTrain: 64,
        minSizeTest: 32,
        maxSizeTest: 64,
      },
    });
    const logs: string[] = [];
    const { train, val } = await loadDetectionData(config, (m) => logs.push(m));
    expect(val).toBe(train);
    expect(logs.at(-1)).toMatch(/4 images, \d+ annotations, 6 categories/);
    expect(train.samples.map((s) => [s.image.width, s.originalSize[1]])).toEqual(Array(4).fill([32, 64]));
    // stored at half size: boxes halve; the COCO ground truth stays in the original pixels
    const a = scenes.coco.annotations.find((x) => x.image_id === train.samples[0]!.imageId)!;
    expect(Array.from(train.samples[0]!.boxes.subarray(0, 4))).toEqual([
      a.bbox[0] / 2,
      a.bbox[1] / 2,
      (a.bbox[0] + a.bbox[2]) / 2,
      (a.bbox[1] + a.bbox[3]) / 2,
    ]);
    expect(train.coco.annotations.find((x) => x.id === a.id)!.bbox).toEqual(a.bbox);
    // pixels: the stored image is the original shrunk (mean colour preserved within a few levels)
    const mean = (d: Uint8Array) => d.reduce((s, v) => s + v, 0) / d.length;
    expect(Math.abs(mean(train.samples[0]!.image.data) - mean(scenes.images[0]!.data))).toBeLessThan(3);
  });
});

describe('backbone init', () => {
  const base = tinyConfig('retinanet', 2);
  const withInit = (kind: FinetuneConfig['init']['kind'], p: string) => ({
    ...base,
    init: { kind, path: p },
  });
  const same = (a: Map<string, tf.Variable>, b: Map<string, tf.Variable>) => {
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [k, v] of a) expect(Array.from(b.get(k)!.dataSync()), k).toEqual(Array.from(v.dataSync()));
  };

  it('loads the online backbone of a real pretraining run (weights and BN running statistics)', async () => {
    const pconfig = resolvePretrainConfig({
      method: 'byol',
      backbone: { name: 'resnet18', baseWidth: 4 },
      data: { demoImages: 4, imageSize: 32 },
      optim: { epochs: 1, batchSize: 2 },
      byol: { projectorHidden: 16, projectionDim: 8, predictorHidden: 16 },
      emd: { scaleView: false },
      checkpoint: { everySteps: 1 },
    });
    const runDir = path.join(root, 'pretrain');
    const images = await loadPretrainImages(pconfig.data);
    await runPretraining({ config: pconfig, images: images.images, runDir, prefetch: 'none' });
    const ckpt = loadCheckpoint<{ numBatchesTracked: Record<string, number> }>(
      listCheckpoints(path.join(runDir, 'checkpoints')).at(-1)!.dir,
    );
    const { backbone, description } = await initBackbone(withInit('pretrain-run', runDir));
    try {
      expect(description).toMatch(/byol checkpoint .*step 2/);
      for (const [name, v] of [...backbone.params, ...backbone.buffers]) {
        const key = `${backbone.params.has(name) ? 'online.params' : 'online.buffers'}/backbone/${name}`;
        expect(Array.from(v.dataSync()), name).toEqual(Array.from(ckpt.tensors.get(key)!.data));
      }
      // pretraining moved the running statistics away from their (0, 1) start
      expect(
        backbone.buffers
          .get('bn1.running_mean')!
          .dataSync()
          .some((x) => x !== 0),
      ).toBe(true);
      expect(backbone.numBatchesTracked!.get('bn1')).toBe(ckpt.state.numBatchesTracked['backbone/bn1']);
    } finally {
      backbone.dispose();
    }
    await expect(
      initBackbone({ ...withInit('pretrain-run', runDir), backbone: { ...base.backbone, baseWidth: 8 } }),
    ).rejects.toThrow(/holds a resnet18 of width 4, but backbone is resnet18 of width 8/);
  });

  it('loads safetensors and TF.js layers exports exactly; random init follows the seed', async () => {
    const source = createBackbone('resnet18', { baseWidth: 4, seed: 42 });
    // make the BN statistics non-trivial so a missed buffer would show
    for (const [k, v] of source.buffers)
      tf.tidy(() => v.assign(tf.add(v, tf.randomUniform(v.shape, 0.1, 0.5, 'float32', k.length))));
    const file = path.join(root, 'bb.safetensors');
    const exp = await backboneToTorchTensors(source);
    await writeSafetensors(file, exp.tensors, exp.metadata);
    const tfjsDir = path.join(root, 'bb-tfjs');
    await saveBackboneAsTfjsLayers(source, tfjsDir);
    for (const [kind, p] of [
      ['safetensors', file],
      ['tfjs', tfjsDir],
    ] as const) {
      const { backbone } = await initBackbone(withInit(kind, p));
      same(source.params, backbone.params);
      same(source.buffers, backbone.buffers);
      backbone.dispose();
    }
    const r1 = await initBackbone({ ...base, seed: 3 });
    const r2 = await initBackbone({ ...base, seed: 3 });
    same(r1.backbone.params, r2.backbone.params);
    expect(Array.from(r1.backbone.params.get('conv1.weight')!.dataSync())).not.toEqual(
      Array.from(source.params.get('conv1.weight')!.dataSync()),
    );
    [r1, r2].forEach((r) => r.backbone.dispose());
    source.dispose();
  });
});

describe('selfemd eval', () => {
  it('prints the 12 stats, per category and VOC as JSON; perfect detections score 1', async () => {
    const gtFile = path.join(root, 'gt.json');
    const dtFile = path.join(root, 'dt.json');
    fs.writeFileSync(gtFile, JSON.stringify(scenes.coco));
    const perfect = scenes.coco.annotations.map((a) => ({
      image_id: a.image_id,
      category_id: a.category_id,
      bbox: a.bbox,
      score: 0.9,
    }));
    // plus one confident false positive on image 1, of a class that exists there
    perfect.push({
      image_id: 1,
      category_id: scenes.coco.annotations[0]!.category_id,
      bbox: [0, 0, 1, 1],
      score: 0.95,
    });
    fs.writeFileSync(dtFile, JSON.stringify(perfect));
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await evalCommand(['--gt', gtFile, '--dt', dtFile, '--json']);
      const out = JSON.parse(String(log.mock.calls.at(-1)![0])) as {
        stats: number[];
        per_category: Record<string, { AP50: number }>;
        voc: { mAP50: number };
      };
      expect(out.stats).toHaveLength(12);
      // every object is found at IoU 1 but one class ranks a false positive first: AP50 < 1 for it only
      expect(out.stats[1]).toBeGreaterThan(0.8);
      expect(out.stats[1]).toBeLessThan(1);
      // (101-point interpolation sums to 0.9999999999999999 for some classes: compare with a tolerance)
      const perfectClasses = Object.values(out.per_category).filter((c) => c.AP50 > 1 - 1e-9).length;
      expect(perfectClasses).toBe(Object.keys(out.per_category).length - 1);
      expect(out.voc.mAP50).toBeGreaterThan(0.8);
      expect(out.voc.mAP50).toBeLessThan(1);
    } finally {
      log.mockRestore();
    }
    await expect(evalCommand(['--gt', gtFile])).rejects.toThrow(/usage/);
  });
});
