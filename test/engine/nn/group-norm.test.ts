/**
 * The closed-form group norm (forward and backward) against TF.js autodiff of the plain formula on
 * the cpu backend, the same numbers on wasm, and — where Debian's PyTorch is (else one skip line) —
 * against torch.nn.functional.group_norm's output and gradients on the same data.
 */
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { torchvisionMissing } from '../../../bench/detection-reference';
import { initBackend } from '../../../src-main/engine/backend/select';
import { groupNorm } from '../../../src-main/engine/nn/group-norm';
import { skipUnlessTool } from '../../optional-tool';
import { expectNormClose, normTestData, relErr, type NormResult } from './norm-fixtures';

const EPS = 1e-5;
const PYTHON = process.env.SELFEMD_TORCH_PYTHON ?? '/usr/bin/python3';

interface Case {
  name: string;
  shape: [number, number, number, number];
  groups: number;
}
const CASES: Case[] = [
  { name: '[3,5,4,8], 4 groups', shape: [3, 5, 4, 8], groups: 4 },
  { name: '[2,3,3,6], 1 group (layer norm)', shape: [2, 3, 3, 6], groups: 1 },
  { name: '[2,2,3,4], 4 groups (instance norm)', shape: [2, 2, 3, 4], groups: 4 },
  { name: '[4,1,1,8], 2 groups (a 1×1 map)', shape: [4, 1, 1, 8], groups: 2 },
];

/** The textbook formula on [N, H, W, G, C/G], for autodiff. */
function plainGroupNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, groups: number): tf.Tensor {
  const [n, h, w, c] = x.shape as number[];
  const xg = tf.reshape(x, [n!, h!, w!, groups, c! / groups]);
  const mean = tf.mean(xg, [1, 2, 4], true);
  const variance = tf.mean(tf.square(tf.sub(xg, mean)), [1, 2, 4], true);
  const xhat = tf.reshape(tf.div(tf.sub(xg, mean), tf.sqrt(tf.add(variance, EPS))), x.shape);
  return tf.add(tf.mul(xhat, gamma), beta);
}

/** Loss Σ y²·w, so dy depends on y and the mean / x̂ terms of the backward matter. */
function evaluate(c: Case, impl: 'closed-form' | 'plain'): NormResult {
  return tf.tidy(() => {
    const d = normTestData(c.shape, c.groups);
    const x = tf.tensor4d(d.x, c.shape);
    const gamma = tf.tensor1d(d.gamma);
    const beta = tf.tensor1d(d.beta);
    const w = tf.tensor(d.w, c.shape);
    const run = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      impl === 'plain'
        ? plainGroupNorm(a, g, b, c.groups)
        : groupNorm(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, c.groups, EPS);
    const y = run(x, gamma, beta);
    const { value, grads } = tf.valueAndGrads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.square(run(a, g, b)), w)),
    )([x, gamma, beta]);
    return {
      y: y.dataSync() as Float32Array,
      loss: value.dataSync()[0]!,
      dx: grads[0]!.dataSync() as Float32Array,
      dGamma: grads[1]!.dataSync() as Float32Array,
      dBeta: grads[2]!.dataSync() as Float32Array,
    };
  });
}

const reference = new Map<string, NormResult>();

beforeAll(async () => {
  await initBackend('cpu');
  for (const c of CASES) reference.set(c.name, evaluate(c, 'plain'));
});

describe('groupNorm vs autodiff of the plain formula', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s on cpu', async (_, c) => {
    await tf.setBackend('cpu');
    const want = reference.get(c.name)!;
    // The reference is not degenerate: every gradient has signal.
    expect(Math.max(...want.dx.map(Math.abs))).toBeGreaterThan(1e-3);
    expect(Math.max(...want.dGamma.map(Math.abs))).toBeGreaterThan(1e-3);
    expectNormClose(evaluate(c, 'closed-form'), want, 1e-5);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s on wasm equals the cpu reference', async (_, c) => {
    await tf.setBackend('wasm');
    expectNormClose(evaluate(c, 'closed-form'), reference.get(c.name)!, 2e-5);
  });

  it('normalises each image and group on its own (not across the batch)', async () => {
    await tf.setBackend('cpu');
    // Image 1 is image 0 scaled by 10 and shifted: per-image statistics give the same output.
    const a = Float32Array.from({ length: 2 * 2 * 4 }, (_, i) => Math.sin(i * 1.3));
    const x = tf.tensor4d([...a, ...a.map((v) => 10 * v + 3)], [2, 2, 2, 4]);
    const y = groupNorm(x, tf.ones([4]) as tf.Tensor1D, tf.zeros([4]) as tf.Tensor1D, 2).arraySync();
    expect(relErr(y[1]!.flat(2), y[0]!.flat(2))).toBeLessThan(1e-4);
    tf.dispose(x);
  });

  it('refuses a group count that does not divide the channels', async () => {
    await tf.setBackend('cpu');
    const x = tf.zeros([1, 2, 2, 6]) as tf.Tensor4D;
    expect(() => groupNorm(x, tf.ones([6]) as tf.Tensor1D, tf.zeros([6]) as tf.Tensor1D, 4)).toThrow(
      /4 groups do not divide 6 channels/,
    );
    tf.dispose(x);
  });
});

const skipReason = skipUnlessTool({
  tool: 'PyTorch',
  tests: 'groupNorm against torch.nn.functional.group_norm',
  missing: torchvisionMissing(PYTHON),
  install: 'apt-get install python3-torch python3-torchvision (or set SELFEMD_TORCH_PYTHON)',
});

/** torch's group_norm of each case's NHWC data (permuted to NCHW and back), its gradients of Σ y²·w. */
const TORCH_SCRIPT = `
import json, sys, torch
out = []
for c in json.load(sys.stdin):
    n, h, w, ch = c["shape"]
    nchw = lambda v: torch.tensor(v, dtype=torch.float64).reshape(n, h, w, ch).permute(0, 3, 1, 2)
    x = nchw(c["x"]).requires_grad_()
    g = torch.tensor(c["gamma"], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(c["beta"], dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.group_norm(x, c["groups"], g, b, eps=${EPS})
    (y.square() * nchw(c["w"])).sum().backward()
    nhwc = lambda t: t.permute(0, 2, 3, 1).reshape(-1).tolist()
    out.append({"y": nhwc(y.detach()), "dx": nhwc(x.grad), "dGamma": g.grad.tolist(), "dBeta": b.grad.tolist()})
print(json.dumps(out))
`;

interface TorchResult {
  y: number[];
  dx: number[];
  dGamma: number[];
  dBeta: number[];
}

/** One Python process for every case (torch's import is most of the time). */
function torchResults(): TorchResult[] {
  const input = JSON.stringify(
    CASES.map((c) => {
      const d = normTestData(c.shape, c.groups);
      return {
        shape: c.shape,
        groups: c.groups,
        x: Array.from(d.x),
        w: Array.from(d.w),
        gamma: Array.from(d.gamma),
        beta: Array.from(d.beta),
      };
    }),
  );
  const r = spawnSync(PYTHON, ['-c', TORCH_SCRIPT], { input, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`torch group_norm failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as TorchResult[];
}

describe.skipIf(skipReason !== '')('groupNorm against PyTorch', () => {
  let torch: TorchResult[] | undefined;
  it.each(CASES.map((c, i) => [c.name, c, i] as const))('%s: output and gradients', async (_, c, i) => {
    await tf.setBackend('wasm');
    const want = (torch ??= torchResults())[i]!;
    const ours = evaluate(c, 'closed-form');
    expect(relErr(ours.y, want.y)).toBeLessThan(2e-5);
    expect(relErr(ours.dx, want.dx)).toBeLessThan(2e-4);
    expect(relErr(ours.dGamma, want.dGamma)).toBeLessThan(2e-4);
    expect(relErr(ours.dBeta, want.dBeta)).toBeLessThan(2e-4);
  });
});
