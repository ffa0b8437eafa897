/**
 * The interoperability check against torchvision, in two parts:
 *
 * - Always (no Python needed): our export of resnet18 / resnet50 / mobilenet_v2 (seeded weights) has
 *   exactly the state_dict names and shapes torchvision's models have (the head, fc.* / classifier.*,
 *   aside), and our forward pass
 *   reproduces the features torchvision computed from those same weights and input — both frozen in
 *   fixtures/torchvision-reference.json by the live check below.
 * - Where PyTorch is installed (CI installs python3-torch; a machine without it skips with one line):
 *   torchvision loads the export (strict=False: only the head missing, nothing unexpected), its features
 *   match ours, and they still match the fixture (so the frozen reference cannot go stale).
 *   `SELFEMD_UPDATE_FIXTURES=1` rewrites the fixture from the live run.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { writeSafetensors, type SafetensorsTensor } from '../../../src-main/engine/export/safetensors';
import { backboneToTorchTensors } from '../../../src-main/engine/export/torch-state-dict';
import { createBackbone } from '../../../src-main/engine/models/registry';
import type { Backbone, FeatureName } from '../../../src-main/engine/models/types';
import { torchvisionMissing } from '../../../bench/detection-reference';
import { skipUnlessTool } from '../../optional-tool';
import { calibrateBatchNorm } from './helpers';
import { removeTempDir, tempDir } from '../../temp-dir';

// Debian's python3 (pyenv's python3 on PATH has no torch); overridable for other machines.
const PYTHON = process.env.SELFEMD_TORCH_PYTHON ?? '/usr/bin/python3';
const HERE = dirname(fileURLToPath(import.meta.url));
const SCRIPT = join(HERE, 'load_in_torchvision.py');
const FIXTURE = join(HERE, 'fixtures', 'torchvision-reference.json');
const FEATURES: FeatureName[] = ['res2', 'res3', 'res4', 'res5'];
/** The cases frozen in the fixture: arch, weight seed, NHWC input shape (input seed = weight seed). */
const CASES = [
  { arch: 'resnet18', seed: 7, input: [1, 32, 32, 3] },
  { arch: 'resnet50', seed: 8, input: [1, 16, 16, 3] },
  { arch: 'mobilenet_v2', seed: 9, input: [1, 32, 32, 3] },
] as const;
/** torchvision's classification head, the only keys an export lacks. */
const HEAD: Record<string, string[]> = {
  resnet18: ['fc.bias', 'fc.weight'],
  resnet50: ['fc.bias', 'fc.weight'],
  mobilenet_v2: ['classifier.1.bias', 'classifier.1.weight'],
};

const skipReason = skipUnlessTool({
  tool: 'PyTorch',
  tests: 'live torchvision cross-check (the frozen-reference check still runs)',
  missing: torchvisionMissing(PYTHON),
  install: 'apt-get install python3-torch python3-torchvision (or set SELFEMD_TORCH_PYTHON)',
});

interface FrozenCase {
  arch: string;
  seed: number;
  input: { shape: number[]; data: string };
  /** torchvision's state_dict: name -> shape (the head included). */
  stateDict: Record<string, number[]>;
  /** NCHW features torchvision computed, float32 little-endian, base64. */
  features: Record<FeatureName, { shape: number[]; data: string }>;
}
interface Fixture {
  provenance: string;
  versions: { torch: string; torchvision: string };
  cases: FrozenCase[];
}

interface TorchReport {
  arch: string;
  missing: string[];
  unexpected: string[];
  shapes: Record<FeatureName, number[]>;
  maxAbsDiff: Record<FeatureName, number>;
  maxAbs: Record<FeatureName, number>;
  bn1NumBatchesTracked: number;
  /** torchvision's trainable parameters minus the classification head. */
  parameters: number;
  ok: boolean;
  stateDict: Record<string, number[]>;
  features: Record<FeatureName, number[]>;
  versions: { torch: string; torchvision: string };
}

const f32ToBase64 = (a: ArrayLike<number>) => Buffer.from(new Float32Array(a).buffer).toString('base64');
function base64ToF32(s: string): Float32Array {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
const maxAbs = (a: ArrayLike<number>) => maxAbsDiff(a, new Float32Array(a.length));
/** 1e-3 absolute; above magnitude 10 (resnet50's deep features) float32 round-off makes it 1e-4 relative. */
const tolerance = (magnitude: number) => Math.max(1e-3, 1e-4 * magnitude);

function seededBackbone(arch: string, seed: number): Backbone {
  // torchvision's widths: 64 for the ResNets, 32 (width multiplier 1.0) for mobilenet_v2
  const b = createBackbone(arch, { seed });
  calibrateBatchNorm(b, seed);
  return b;
}

/** Our inference features of `b` for the NHWC input, as NCHW float arrays (torch's layout). */
function ourFeatures(
  b: Backbone,
  x: tf.Tensor4D,
): Record<FeatureName, { shape: number[]; data: Float32Array }> {
  const feats = b.forward(x, { training: false });
  const out = {} as Record<FeatureName, { shape: number[]; data: Float32Array }>;
  for (const f of FEATURES) {
    const p = tf.transpose(feats[f], [0, 3, 1, 2]);
    out[f] = { shape: p.shape, data: new Float32Array(p.dataSync()) };
    p.dispose();
  }
  tf.dispose(Object.values(feats));
  return out;
}

let dir: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('selfemd-torch-');
});
afterAll(async () => {
  removeTempDir(dir);
});

describe('torchvision interoperability against the frozen reference', () => {
  const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Fixture;

  it('has every case', () => {
    expect(fixture.cases.map((c) => c.arch)).toEqual(CASES.map((c) => c.arch));
  });

  for (const frozen of fixture.cases) {
    it(`${frozen.arch}: export names and shapes are torchvision's, and our features reproduce its frozen ones`, async () => {
      const b = seededBackbone(frozen.arch, frozen.seed);
      const exp = await backboneToTorchTensors(b, { method: 'test' });
      const ours = Object.fromEntries(exp.tensors.map((t) => [t.name, [...t.shape]]));
      const theirs = Object.fromEntries(
        Object.entries(frozen.stateDict).filter(([name]) => !HEAD[frozen.arch]!.includes(name)),
      );
      expect(ours).toEqual(theirs);

      const x = tf.tensor4d(
        base64ToF32(frozen.input.data),
        frozen.input.shape as [number, number, number, number],
      );
      const feats = ourFeatures(b, x);
      x.dispose();
      b.dispose();
      for (const f of FEATURES) {
        const want = base64ToF32(frozen.features[f].data);
        expect(feats[f].shape, `${frozen.arch} ${f}`).toEqual(frozen.features[f].shape);
        // the reference is not a trivial one (a zero map would match anything near zero)
        expect(maxAbs(want), `${frozen.arch} ${f}`).toBeGreaterThan(0.5);
        expect(maxAbsDiff(feats[f].data, want), `${frozen.arch} ${f}`).toBeLessThan(tolerance(maxAbs(want)));
      }
    });
  }
});

/** Export a case's weights plus its input and our NCHW features; returns the two file paths. */
async function prepare(c: (typeof CASES)[number]): Promise<{ files: [string, string]; input: Float32Array }> {
  const b = seededBackbone(c.arch, c.seed);
  const weights = join(dir, `${c.arch}.safetensors`);
  const exp = await backboneToTorchTensors(b, { method: 'test' });
  await writeSafetensors(weights, exp.tensors, exp.metadata);
  const x = tf.randomNormal([...c.input], 0, 1, 'float32', c.seed) as tf.Tensor4D;
  const xNchw = tf.transpose(x, [0, 3, 1, 2]);
  const inputNchw: SafetensorsTensor = {
    name: 'input',
    dtype: 'F32',
    shape: xNchw.shape,
    data: new Float32Array(xNchw.dataSync()),
  };
  const input = new Float32Array(x.dataSync());
  const feats = ourFeatures(b, x);
  tf.dispose([x, xNchw]);
  b.dispose();
  const io = join(dir, `${c.arch}-io.safetensors`);
  await writeSafetensors(io, [
    inputNchw,
    ...FEATURES.map((f): SafetensorsTensor => ({
      name: f,
      dtype: 'F32',
      shape: feats[f].shape,
      data: feats[f].data,
    })),
  ]);
  return { files: [weights, io], input };
}

describe('torchvision interoperability, live', () => {
  it.skipIf(Boolean(skipReason))(
    `resnet18, resnet50 and mobilenet_v2 exports load into torchvision, reproduce our features and the frozen reference${skipReason ? ` (${skipReason})` : ''}`,
    async () => {
      const prepared: Awaited<ReturnType<typeof prepare>>[] = [];
      for (const c of CASES) prepared.push(await prepare(c));
      const r = spawnSync(PYTHON, [SCRIPT, '--outputs', ...prepared.flatMap((p) => p.files)], {
        encoding: 'utf8',
        timeout: 300_000,
        maxBuffer: 1 << 28,
      });
      const reports = (r.stdout ?? '')
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as TorchReport);
      expect(reports.length, `python failed: ${r.stderr}`).toBe(CASES.length);
      for (const rep of reports) {
        expect(rep.missing, rep.arch).toEqual(HEAD[rep.arch]);
        expect(rep.unexpected, rep.arch).toEqual([]);
        expect(rep.bn1NumBatchesTracked).toBe(1);
        for (const f of FEATURES) {
          expect(rep.maxAbs[f], `${rep.arch} ${f}`).toBeGreaterThan(0.5);
          // A wrong padding, layout or epsilon gives errors of order 0.1–1.
          expect(rep.maxAbsDiff[f], `${rep.arch} ${f}`).toBeLessThan(tolerance(rep.maxAbs[f]));
        }
      }
      expect(reports[0]!.shapes.res5).toEqual([1, 512, 1, 1]);
      expect(reports[1]!.shapes.res2).toEqual([1, 256, 4, 4]);
      // features.3 / .6 / .13 / .18 at strides 4 / 8 / 16 / 32, and torchvision's parameter count
      expect(reports[2]!.shapes).toEqual({
        res2: [1, 24, 8, 8],
        res3: [1, 32, 4, 4],
        res4: [1, 96, 2, 2],
        res5: [1, 1280, 1, 1],
      });
      expect(reports[2]!.parameters).toBe(2_223_872);
      expect(r.status, r.stderr).toBe(0);

      const live: Fixture = {
        provenance:
          'torchvision features of our seeded exports (test/engine/export/torch-load.test.ts with SELFEMD_UPDATE_FIXTURES=1, load_in_torchvision.py --outputs)',
        versions: reports[0]!.versions,
        cases: CASES.map((c, k) => ({
          arch: c.arch,
          seed: c.seed,
          input: { shape: [...c.input], data: f32ToBase64(prepared[k]!.input) },
          stateDict: reports[k]!.stateDict,
          features: Object.fromEntries(
            FEATURES.map((f) => [
              f,
              { shape: reports[k]!.shapes[f], data: f32ToBase64(reports[k]!.features[f]) },
            ]),
          ) as FrozenCase['features'],
        })),
      };
      if (process.env.SELFEMD_UPDATE_FIXTURES === '1') writeFileSync(FIXTURE, `${JSON.stringify(live)}\n`);
      // the frozen reference is still what torchvision computes
      const frozen = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Fixture;
      frozen.cases.forEach((fc, k) => {
        expect(fc.stateDict).toEqual(live.cases[k]!.stateDict);
        expect(fc.input.data).toBe(live.cases[k]!.input.data);
        for (const f of FEATURES) {
          const want = base64ToF32(fc.features[f].data);
          expect(maxAbsDiff(base64ToF32(live.cases[k]!.features[f].data), want)).toBeLessThan(
            1e-5 * Math.max(1, maxAbs(want)),
          );
        }
      });
    },
  );
});
