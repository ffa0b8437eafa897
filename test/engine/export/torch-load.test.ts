/**
 * The real interoperability check: torchvision loads our exported backbone (strict=False: only
 * fc.* missing, nothing unexpected) and its forward pass reproduces our features. Needs Debian's
 * /usr/bin/python3 with python3-torch and python3-torchvision; skipped, saying why, without them.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { writeSafetensors, type SafetensorsTensor } from '../../../src-main/engine/export/safetensors';
import { backboneToTorchTensors } from '../../../src-main/engine/export/torch-state-dict';
import { createBackbone } from '../../../src-main/engine/models/registry';
import type { FeatureName } from '../../../src-main/engine/models/types';
import { calibrateBatchNorm } from './helpers';

// Debian's python3 (pyenv's python3 on PATH has no torch); overridable for other machines.
const PYTHON = process.env.SELFEMD_TORCH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'load_in_torchvision.py');
const FEATURES: FeatureName[] = ['res2', 'res3', 'res4', 'res5'];

function probeTorch(): { ok: true } | { ok: false; reason: string } {
  // find_spec locates the packages without importing them (importing torch takes seconds); a broken
  // install then fails the test rather than skipping it, which is what we want.
  const code =
    "import importlib.util as u, sys; sys.exit(0 if u.find_spec('torch') and u.find_spec('torchvision') else 3)";
  const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return { ok: false, reason: `${PYTHON} could not run (${r.error.message})` };
  if (r.status !== 0) {
    const why =
      r.status === 3
        ? 'packages not installed'
        : ((r.stderr ?? '').trim().split('\n').pop() ?? `exit ${r.status}`);
    return { ok: false, reason: `${PYTHON} cannot find torch/torchvision (${why})` };
  }
  return { ok: true };
}

const probe = probeTorch();
const skipReason = probe.ok ? '' : probe.reason;
if (!probe.ok) console.warn(`[torch-load] skipped: ${skipReason}`);

interface TorchReport {
  arch: string;
  missing: string[];
  unexpected: string[];
  shapes: Record<FeatureName, number[]>;
  maxAbsDiff: Record<FeatureName, number>;
  maxAbs: Record<FeatureName, number>;
  bn1NumBatchesTracked: number;
  ok: boolean;
}

let dir: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'selfemd-torch-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Export `arch` at width 64 plus an input and our NCHW features; returns the two file paths. */
async function prepare(arch: string, seed: number): Promise<[string, string]> {
  const b = createBackbone(arch, { baseWidth: 64, seed });
  calibrateBatchNorm(b, seed);
  const weights = join(dir, `${arch}.safetensors`);
  const exp = await backboneToTorchTensors(b, { method: 'test' });
  await writeSafetensors(weights, exp.tensors, exp.metadata);
  const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
  const feats = b.forward(x, { training: false });
  const nchw = (name: string, t: tf.Tensor4D): SafetensorsTensor => {
    const p = tf.transpose(t, [0, 3, 1, 2]);
    const out: SafetensorsTensor = {
      name,
      dtype: 'F32',
      shape: p.shape,
      data: new Float32Array(p.dataSync()),
    };
    p.dispose();
    return out;
  };
  const io = join(dir, `${arch}-io.safetensors`);
  await writeSafetensors(io, [nchw('input', x), ...FEATURES.map((f) => nchw(f, feats[f]))]);
  tf.dispose([x, ...Object.values(feats)]);
  b.dispose();
  return [weights, io];
}

describe('torchvision interoperability', () => {
  it.skipIf(!probe.ok)(
    `resnet18 and resnet50 exports load into torchvision and reproduce our features${probe.ok ? '' : ` (skipped: ${skipReason})`}`,
    async () => {
      const files = [...(await prepare('resnet18', 7)), ...(await prepare('resnet50', 8))];
      const r = spawnSync(PYTHON, [SCRIPT, ...files], { encoding: 'utf8', timeout: 300_000 });
      const reports = (r.stdout ?? '')
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as TorchReport);
      expect(reports.length, `python failed: ${r.stderr}`).toBe(2);
      for (const rep of reports) {
        expect(rep.missing, rep.arch).toEqual(['fc.bias', 'fc.weight']);
        expect(rep.unexpected, rep.arch).toEqual([]);
        expect(rep.bn1NumBatchesTracked).toBe(1);
        for (const f of FEATURES) {
          expect(rep.maxAbs[f], `${rep.arch} ${f}`).toBeGreaterThan(0.5);
          // 1e-3 absolute; for features above magnitude 10 (resnet50's res4/res5 reach ~40) float32
          // round-off over 16 blocks is ~2e-5 relative, so there the bound is 1e-4 relative.
          // A wrong padding, layout or epsilon gives errors of order 0.1–1.
          expect(rep.maxAbsDiff[f], `${rep.arch} ${f}`).toBeLessThan(Math.max(1e-3, 1e-4 * rep.maxAbs[f]));
        }
      }
      // resnet18's features stay near magnitude 10: the plain absolute bound holds there
      for (const f of FEATURES) expect(reports[0].maxAbsDiff[f], `resnet18 ${f}`).toBeLessThan(1e-3);
      expect(reports[0].shapes.res5).toEqual([2, 512, 2, 2]);
      expect(reports[1].shapes.res2).toEqual([2, 256, 16, 16]);
      expect(r.status, r.stderr).toBe(0);
    },
  );
});
