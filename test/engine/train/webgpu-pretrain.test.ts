/**
 * Long runs on a GPU, shown at tiny sizes on webgpu (SwiftShader here; width 4, 64 px, batch 2; the
 * fewest steps each check needs, since a SwiftShader step costs seconds):
 * - a Self-EMD pretraining (Eq. 13 marginals, SPC, scale view) trains, checkpoints and pauses, with
 *   the live tensor count and the GPU bytes allocated flat over its steps after warm-up (4 steps: two
 *   to fill the pool, two to show it flat); a fresh process resumes it from the checkpoint, finishes it
 *   (one step), releases Dawn's device and exits by itself;
 * - a loss that overflows stops the run with the usual message, the last good checkpoint kept (BYOL
 *   at 32 px: the overflow and the non-finite check do not depend on the image size);
 * - Sinkhorn with a zero marginal and an underflowed kernel column stays finite (its floors hold
 *   where WGSL may assume no NaN/Inf), as do the marginals of all-negative similarities.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { deviceMemory, type DeviceMemory } from '../../../src-main/engine/backend/device-memory';
import { initBackend, releaseBackend } from '../../../src-main/engine/backend/select';
import { loadPretrainImages } from '../../../src-main/engine/data/pretrain-data';
import { normaliseWeights } from '../../../src-main/engine/ssl/marginals';
import { gibbsKernel, sinkhorn } from '../../../src-main/engine/ssl/sinkhorn';
import { listCheckpoints, loadCheckpoint } from '../../../src-main/engine/train/checkpoint';
import { runPretraining } from '../../../src-main/engine/train/pretrain';
import { NonFiniteLossError } from '../../../src-main/engine/train/training-loop';
import { expectFlatMemory, probeWebGpu, reportSkip } from '../backend/webgpu-harness';
import { tinyConfig } from './tiny-config';
import { removeTempDir, tempDir } from '../../temp-dir';

const probe = await probeWebGpu();
reportSkip('webgpu-pretrain.test.ts', probe);
const root = tempDir('selfemd-webgpu-pretrain-');
afterAll(() => {
  releaseBackend();
  removeTempDir(root);
});

const CHILD = path.join(import.meta.dirname, 'fixtures', 'webgpu-resume-child.ts');

/** Runs the resume fixture; resolves with its JSON lines once it has exited on its own. */
function resumeInFreshProcess(runDir: string, configFile: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, runDir, configFile], {
      env: { ...process.env, SELFEMD_BACKEND: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // Generous: SwiftShader steps take tens of seconds on a loaded machine. A child that finished
    // its work but does not exit (a live Dawn object) is caught by the `result` line check below.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the resuming process did not exit within 10 min; stdout:\n${out}\nstderr:\n${err}`));
    }, 600_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`the resuming process exited with ${code}:\n${err}`));
      else
        resolve(
          out
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l)),
        );
    });
  });
}

describe.skipIf(!probe.info)('pretraining on webgpu', () => {
  it('self-emd with SPC and the scale view: flat memory, checkpoints, resumes in a fresh process', async () => {
    await initBackend('webgpu', { env: {} });
    const config = tinyConfig({
      method: 'self-emd',
      emd: { spc: true, scaleView: true },
      data: { demoImages: 4 },
      // 2.5 epochs of 2 steps: 4 steps here, the 5th in the fresh process.
      optim: { batchSize: 2, epochs: 2.5 },
      checkpoint: { everySteps: 1 },
    });
    const { images } = await loadPretrainImages(config.data);
    const runDir = path.join(root, 'self-emd');
    const memory: DeviceMemory[] = [];
    const first = await runPretraining({
      config,
      images,
      runDir,
      hooks: {
        onProgress: () => memory.push(deviceMemory()),
        shouldStop: () => (memory.length >= 4 ? 'pause' : 'continue'),
      },
    });
    expect(first).toMatchObject({ status: 'paused', step: 4, totalSteps: 5 });
    expect(Number.isFinite(first.lastLoss)).toBe(true);
    expect(listCheckpoints(path.join(runDir, 'checkpoints')).map((c) => c.step)).toEqual([2, 3, 4]);
    // Nothing leaks from step to step, and once the pool has filled no tensor-sized GPU buffer is allocated.
    expectFlatMemory(memory, 'self-emd pretraining');
    releaseBackend();

    const configFile = path.join(root, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify(config));
    const lines = await resumeInFreshProcess(runDir, configFile);
    expect(lines[0]).toEqual({ backend: 'webgpu' });
    const steps = lines.filter((l) => typeof l.step === 'number') as unknown as { step: number }[];
    expect(steps.map((s) => s.step)).toEqual([5]);
    expect(lines.at(-1)).toMatchObject({ result: { status: 'completed', step: 5, totalSteps: 5 } });
    const last = listCheckpoints(path.join(runDir, 'checkpoints')).at(-1)!;
    expect(last.step).toBe(5);
    for (const [, t] of loadCheckpoint(last.dir).tensors) expect(t.data.every(Number.isFinite)).toBe(true);
  }, 1_800_000);

  it('stops on a non-finite loss with the usual message and keeps the last good checkpoint', async () => {
    await initBackend('webgpu', { env: {} });
    const config = tinyConfig({
      method: 'byol',
      data: { demoImages: 4, imageSize: 32 },
      emd: { scaleView: false },
      optim: { batchSize: 2, epochs: 10, warmupEpochs: 0 },
    });
    // Past what validation allows, to force overflow: weights reach ~1e30 after one step.
    config.optim.lr = 1e30;
    const { images } = await loadPretrainImages(config.data);
    const runDir = path.join(root, 'overflow');
    const error = await runPretraining({ config, images, runDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteLossError);
    const e = error as NonFiniteLossError;
    expect(e.message).toMatch(/loss became (NaN|Infinity|-Infinity) at step \d+; training stopped/);
    const kept = listCheckpoints(path.join(runDir, 'checkpoints'));
    expect(kept.at(-1)?.step).toBe(e.lastCheckpointStep);
    for (const [, t] of loadCheckpoint(kept.at(-1)!.dir).tensors)
      expect(t.data.every(Number.isFinite)).toBe(true);
  }, 900_000);

  it("Sinkhorn's floors and the marginals' ε keep a zero marginal and an underflowed column finite", async () => {
    await initBackend('webgpu', { env: {} });
    // Column 2 costs 200 more than the others: exp(−200) underflows to 0 in float32.
    const cost = tf.tensor3d([0, 1, 200, 1, 0, 200, 0.5, 0.5, 200], [1, 3, 3]);
    const K = gibbsKernel(cost, 1);
    const r = tf.tensor2d([[0.5, 0.5, 0]]);
    const c = tf.tensor2d([[0.5, 0.5, 0]]);
    const plan = sinkhorn(K, r, c, 20);
    const p = (await plan.data()) as Float32Array;
    expect([...p].every(Number.isFinite)).toBe(true);
    // Column sums equal c after an iteration; the zero row and column receive no mass.
    for (let j = 0; j < 3; j++) expect(p[j]! + p[3 + j]! + p[6 + j]!).toBeCloseTo([0.5, 0.5, 0][j]!, 5);
    expect(p[6]! + p[7]! + p[8]!).toBe(0);
    // All-negative similarities: every weight at the ε floor, a uniform finite marginal.
    const m = normaliseWeights(tf.tensor2d([[-1, -0.5, -2, -0.1]]), 1e-3);
    const w = (await m.data()) as Float32Array;
    for (const v of w) expect(v).toBeCloseTo(0.25, 6);
    tf.dispose([cost, K, r, c, plan, m]);
  }, 300_000);
});
