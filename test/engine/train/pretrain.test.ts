/**
 * The pretraining loop on the wasm backend, at sizes that run in seconds: every method and block
 * type trains, resume is bit-for-bit, a diverging loss stops the run and keeps the last good
 * checkpoint, and no tensor leaks across steps.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { listCheckpoints, loadCheckpoint } from '../../../src-main/engine/train/checkpoint';
import { loadPretrainImages } from '../../../src-main/engine/data/pretrain-data';
import { runPretraining } from '../../../src-main/engine/train/pretrain';
import type { MetricSample } from '../../../src-main/engine/train/training-hooks';
import { NonFiniteLossError } from '../../../src-main/engine/train/training-loop';
import type { RawImage } from '../../../src-main/engine/data/raw-image';
import { pauseThenResume } from './pause-resume';
import { tinyConfig } from './tiny-config';
import { tempDir } from '../../temp-dir';

let images: RawImage[];
const tmp = () => tempDir('pretrain-');

beforeAll(async () => {
  await initBackend('wasm');
  images = (await loadPretrainImages(tinyConfig().data)).images;
});

async function finalOnlineWeights(runDir: string): Promise<Map<string, Float32Array>> {
  const last = listCheckpoints(path.join(runDir, 'checkpoints')).at(-1)!;
  const loaded = loadCheckpoint(last.dir);
  const out = new Map<string, Float32Array>();
  for (const [k, v] of loaded.tensors) if (!k.startsWith('sgd.')) out.set(k, v.data);
  return out;
}

describe('pretraining on wasm', () => {
  it('self-emd (SPC + scale view) and byol train, and report every metric', async () => {
    for (const method of ['self-emd', 'byol'] as const) {
      const metrics: MetricSample[] = [];
      const log: string[] = [];
      const result = await runPretraining({
        config: tinyConfig({ method }),
        images,
        runDir: tmp(),
        hooks: { onMetrics: (p) => metrics.push(...p), onLog: (m) => log.push(m) },
      });
      expect(result).toMatchObject({ status: 'completed', step: 4, totalSteps: 4 });
      // At 64 px the 2×2 map leaves the pyramid nothing to compare: the log says so (self-emd only).
      expect(log.some((m) => m.startsWith('spatial pyramid crops: at 64 px the dense map is 2×2'))).toBe(
        method === 'self-emd',
      );
      const keys = new Set(metrics.map((m) => m.key));
      expect(keys.has('loss/emd')).toBe(method === 'self-emd');
      for (const k of ['loss/total', 'loss/global', 'opt/lr', 'opt/tau', 'monitor/collapse_std'])
        expect(keys.has(k), `${method} ${k}`).toBe(true);
      for (const m of metrics) expect(Number.isFinite(m.value), `${m.key}@${m.step}`).toBe(true);
      const total = metrics.filter((m) => m.key === 'loss/total').map((m) => m.value);
      // BYOL's loss is in [0, 4]; EMD terms too; the mean of the families keeps the sum in [0, 8].
      for (const v of total) {
        expect(v).toBeGreaterThan(0);
        expect(v).toBeLessThan(method === 'byol' ? 4 : 8);
      }
    }
  });

  it('trains a bottleneck backbone (resnet50) a step', async () => {
    const result = await runPretraining({
      config: tinyConfig({ backbone: { name: 'resnet50', baseWidth: 4 }, optim: { epochs: 0.5 } }),
      images,
      runDir: tmp(),
    });
    expect(result.step).toBe(1);
    expect(Number.isFinite(result.lastLoss)).toBe(true);
  });

  it('resumes bit-for-bit: 4 steps equal 2 + resume + 2', async () => {
    const config = tinyConfig();
    const straight = tmp();
    await runPretraining({ config, images, runDir: straight });

    const interrupted = tmp();
    await pauseThenResume(config, images, interrupted, 2, 4);

    const a = await finalOnlineWeights(straight);
    const b = await finalOnlineWeights(interrupted);
    expect([...b.keys()]).toEqual([...a.keys()]);
    let maxDiff = 0;
    for (const [k, va] of a) {
      const vb = b.get(k)!;
      for (let i = 0; i < va.length; i++) maxDiff = Math.max(maxDiff, Math.abs(va[i] - vb[i]));
    }
    expect(maxDiff).toBe(0);
    // And training did move the weights between the kept checkpoints (steps 2..4), so equality means something.
    const early = loadCheckpoint(listCheckpoints(path.join(straight, 'checkpoints'))[0].dir);
    const w = 'online.params/backbone/conv1.weight';
    expect(Array.from(early.tensors.get(w)!.data)).not.toEqual(Array.from(a.get(w)!));
  });

  it('resumes from the recorded checkpoint, not a newer one on disk, and repeats the steps after it', async () => {
    const config = tinyConfig();
    const runDir = tmp();
    const first: MetricSample[] = [];
    await runPretraining({ config, images, runDir, hooks: { onMetrics: (p) => first.push(...p) } });
    const root = path.join(runDir, 'checkpoints');
    expect(listCheckpoints(root).map((c) => c.step)).toEqual([2, 3, 4]);

    // The supervisor recorded step 2 last (its process died before it heard of 3 and 4).
    const again: MetricSample[] = [];
    const log: string[] = [];
    const resumed = await runPretraining({
      config,
      images,
      runDir,
      resume: true,
      resumeStep: 2,
      hooks: { onMetrics: (p) => again.push(...p), onLog: (m) => log.push(m) },
    });
    expect(resumed).toMatchObject({ status: 'completed', step: 4 });
    const loss = (m: MetricSample[]) => m.filter((p) => p.key === 'loss/total').map((p) => [p.step, p.value]);
    expect(loss(again)).toEqual(loss(first).slice(2));
    expect(log).toContain('discarded checkpoint(s) of step 3, 4: written after the last one recorded');
    expect(log.some((m) => m.startsWith('resumed from step 2 '))).toBe(true);

    // A recorded checkpoint that is gone from disk: said plainly, nothing started.
    await expect(runPretraining({ config, images, runDir, resume: true, resumeStep: 1 })).rejects.toThrow(
      `cannot resume: the checkpoint of step 1 is not in ${root} (on disk: 2, 3, 4)`,
    );
  });

  it('stops on a non-finite loss and keeps the last good checkpoint', async () => {
    const runDir = tmp();
    let error: unknown;
    try {
      // Past what validation allows, to force overflow: weights reach ~1e30 after one step.
      const config = tinyConfig({ method: 'byol', optim: { epochs: 20, warmupEpochs: 0 } });
      config.optim.lr = 1e30;
      await runPretraining({ config, images, runDir });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NonFiniteLossError);
    const e = error as NonFiniteLossError;
    expect(e.message).toMatch(/loss became (NaN|Infinity|-Infinity) at step \d+/);
    const kept = listCheckpoints(path.join(runDir, 'checkpoints')).map((c) => c.step);
    expect(kept.at(-1)).toBe(e.lastCheckpointStep);
    expect(e.lastCheckpointStep).toBe(e.step);
    // The kept checkpoint holds finite weights.
    const last = loadCheckpoint(listCheckpoints(path.join(runDir, 'checkpoints')).at(-1)!.dir);
    for (const [, t] of last.tensors) expect(t.data.every(Number.isFinite)).toBe(true);
  });

  it('leaks no tensors across steps', async () => {
    const counts: number[] = [];
    await runPretraining({
      config: tinyConfig({ optim: { epochs: 3 } }),
      images,
      runDir: tmp(),
      hooks: { onProgress: () => counts.push(tf.memory().numTensors) },
    });
    expect(counts.length).toBe(6);
    expect(new Set(counts.slice(1)).size).toBe(1);
  });
});
