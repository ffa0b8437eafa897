/**
 * The fused dense EMD (dense-emd.ts) and the objective built on it against the per-pair form:
 * emd-loss.ts on each (online level, target level) pair, averaged. Loss within 1e-5, gradients with
 * respect to every online parameter close, and no tensor left behind.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRETRAIN_CONFIG, type PretrainConfig } from '../../../shared/config/pretrain';
import { initBackend } from '../../../src-main/engine/backend/select';
import { byolLoss } from '../../../src-main/engine/ssl/byol-loss';
import { denseEmdLoss, type DenseEmdGroup } from '../../../src-main/engine/ssl/dense-emd';
import { emdLoss } from '../../../src-main/engine/ssl/emd-loss';
import { createEncoder, encode, encoderVariables, type Encoder } from '../../../src-main/engine/ssl/networks';
import {
  distinctLevels,
  pretrainLoss,
  targetForward,
  type Views,
} from '../../../src-main/engine/ssl/objective';
import { pyramidPairs, spatialPyramid } from '../../../src-main/engine/ssl/spatial-pyramid';
import { tinyConfig } from '../train/tiny-config';

beforeAll(async () => {
  await initBackend('wasm');
});

function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let err = 0;
  let scale = 1e-6;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return err / scale;
}

const flat = (m: tf.Tensor4D) =>
  tf.reshape(m, [m.shape[0], m.shape[1] * m.shape[2], m.shape[3]]) as tf.Tensor3D;

describe('denseEmdLoss', () => {
  const e = DEFAULT_PRETRAIN_CONFIG.emd;
  for (const marginals of ['global-vector', 'mean-feature'] as const) {
    it(`equals the weighted mean of per-pair emdLoss over 7/5/3 pyramid levels and a second group (${marginals})`, () => {
      const before = tf.memory().numTensors;
      const B = 3;
      const C = 16;
      const opts = { ...e, marginals };
      const run = (fused: boolean) =>
        tf.tidy(() => {
          // A positive bias so the marginals are not all at the ε floor.
          const xMap = tf.variable(
            tf.add(tf.randomNormal([B, 7, 7, C], 0, 1, 'float32', 1), 0.3),
          ) as tf.Variable<tf.Rank.R4>;
          const sMap = tf.variable(
            tf.add(tf.randomNormal([B, 4, 4, C], 0, 1, 'float32', 2), 0.3),
          ) as tf.Variable<tf.Rank.R4>;
          const yMap = tf.add(tf.randomNormal([B, 7, 7, C], 0, 1, 'float32', 3), 0.3) as tf.Tensor4D;
          const vx = tf.randomNormal([B, C], 0, 1, 'float32', 4) as tf.Tensor2D;
          const vy = tf.add(tf.randomNormal([B, C], 0, 1, 'float32', 5), 0.2) as tf.Tensor2D;
          const f = () => {
            const xs = spatialPyramid(xMap, [7, 5, 3]).map(flat);
            const ys = spatialPyramid(yMap, [7, 5, 3]).map(flat);
            const s = flat(sMap);
            const groups: DenseEmdGroup[] = [
              {
                online: xs,
                target: ys,
                vOnline: vx,
                vTarget: vy,
                blocks: [0, 1, 2].flatMap((a) => [0, 1, 2].map((b) => ({ a, b, weight: 1 }))),
              },
              {
                online: [s],
                target: ys,
                vOnline: vx,
                vTarget: vy,
                blocks: [0, 1, 2].map((b) => ({ a: 0, b, weight: b + 1 })),
              },
            ];
            if (fused) return denseEmdLoss(groups, opts).loss;
            const terms: tf.Scalar[] = [];
            for (const g of groups)
              for (const k of g.blocks)
                for (let i = 0; i < k.weight; i++)
                  terms.push(emdLoss(g.online[k.a], g.target[k.b], g.vOnline, g.vTarget, opts).loss);
            return tf.mean(tf.stack(terms)) as tf.Scalar;
          };
          const { value, grads } = tf.variableGrads(f, [xMap, sMap]);
          const out = {
            loss: value.dataSync()[0],
            dx: grads[xMap.name].dataSync() as Float32Array,
            ds: grads[sMap.name].dataSync() as Float32Array,
          };
          xMap.dispose();
          sMap.dispose();
          return out as unknown as tf.TensorContainer;
        }) as unknown as { loss: number; dx: Float32Array; ds: Float32Array };
      const fused = run(true);
      const ref = run(false);
      expect(Math.abs(fused.loss - ref.loss)).toBeLessThan(1e-5);
      expect(fused.loss).toBeGreaterThan(0.1);
      expect(maxRelErr(fused.dx, ref.dx)).toBeLessThan(1e-4);
      expect(maxRelErr(fused.ds, ref.ds)).toBeLessThan(1e-4);
      expect(Math.max(...fused.dx.map(Math.abs))).toBeGreaterThan(1e-6);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('rejects bad options and shapes, naming the file', () => {
    const x = tf.ones([2, 3, 4]) as tf.Tensor3D;
    const v = tf.ones([2, 4]) as tf.Tensor2D;
    const g = { online: [x], target: [x], vOnline: v, vTarget: v, blocks: [{ a: 0, b: 0, weight: 1 }] };
    expect(() => denseEmdLoss([g], { ...e, lambda: 0 })).toThrow(/dense-emd.ts: emd.lambda/);
    expect(() => denseEmdLoss([{ ...g, target: [tf.ones([2, 3, 5]) as tf.Tensor3D] }], e)).toThrow(
      /dense-emd.ts/,
    );
    expect(() => denseEmdLoss([{ ...g, blocks: [{ a: 1, b: 0, weight: 1 }] }], e)).toThrow(/bad block/);
    tf.dispose([x, v]);
  });
});

describe('distinctLevels', () => {
  it('maps grids to distinct pooling kernels', () => {
    expect(distinctLevels(7, 7, [7, 5, 3])).toEqual({ distinct: [7, 5, 3], of: [0, 1, 2] });
    expect(distinctLevels(3, 3, [7, 5, 3])).toEqual({ distinct: [7], of: [0, 0, 0] });
    expect(distinctLevels(4, 4, [7, 5, 3])).toEqual({ distinct: [7, 3], of: [0, 0, 1] });
    expect(distinctLevels(3, 3, undefined)).toEqual({ distinct: [3], of: [0] });
  });
});

/** The objective as it was, pair by pair over every pyramid pair (before the fused form). */
function referenceLoss(config: PretrainConfig, online: Encoder, target: Encoder, views: Views): tf.Scalar {
  const b = views.v1.shape[0];
  const split2 = <T extends tf.Tensor>(t: T): [T, T] => tf.split(t, [b, b], 0) as [T, T];
  const t = encode(target, tf.concat([views.v1, views.v2], 0));
  const [z1, z2] = split2(t.global);
  const [zMap1, zMap2] = split2(t.dense!);
  const o = encode(online, tf.concat([views.v1, views.v2], 0));
  const [g1, g2] = split2(o.global);
  const dense = split2(o.dense!);
  const small = views.small ? encode(online, views.small) : undefined;
  const globalTerms = [byolLoss(g1, z2), byolLoss(g2, z1)];
  if (small) globalTerms.push(byolLoss(small.global, z1), byolLoss(small.global, z2));
  const global = tf.mean(tf.stack(globalTerms));
  const e = config.emd;
  const levels = (m: tf.Tensor4D) => (e.spc ? spatialPyramid(m, e.spcGrids) : [m]);
  const tgLevels = levels(tf.concat([zMap2, zMap1], 0) as tf.Tensor4D);
  const vOn = tf.concat([g1, g2], 0) as tf.Tensor2D;
  const vTg = tf.concat([z2, z1], 0) as tf.Tensor2D;
  const pairs: [tf.Tensor4D, tf.Tensor4D, tf.Tensor2D, tf.Tensor2D][] = pyramidPairs(
    levels(tf.concat(dense, 0) as tf.Tensor4D),
    tgLevels,
    e.spcPairing,
  ).map(([x, y]) => [x, y, vOn, vTg]);
  if (small?.dense) {
    const sMap = tf.concat([small.dense, small.dense], 0) as tf.Tensor4D;
    const sV = tf.concat([small.global, small.global], 0) as tf.Tensor2D;
    for (const l of tgLevels) {
      const [a2, a1] = tf.split(l, [b, b], 0);
      pairs.push([sMap, tf.concat([a1, a2], 0) as tf.Tensor4D, sV, tf.concat([z1, z2], 0) as tf.Tensor2D]);
    }
  }
  const terms = pairs.map(([x, y, vx, vy]) => emdLoss(flat(x), flat(y), vx, vy, e).loss);
  const emd = tf.mean(tf.stack(terms));
  return tf.add(tf.mul(global, e.globalWeight), tf.mul(emd, e.emdWeight)) as tf.Scalar;
}

describe('pretrainLoss (fused dense terms) against the per-pair objective', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['no SPC, 64 px', { emd: { spc: false, scaleView: false } }],
    ['SPC cross + scale view, 64 px (2×2 map: levels coincide)', { emd: { spc: true, scaleView: true } }],
    [
      'SPC cross + scale view, 224 px (7×7 map: 7/5/3 levels)',
      { data: { imageSize: 224 }, emd: { spc: true, scaleView: true, scaleViewSize: 112 } },
    ],
    [
      'SPC same, 96 px',
      { data: { imageSize: 96 }, emd: { spc: true, spcPairing: 'same', scaleView: false } },
    ],
    [
      'Eq. 12 marginals, SPC cross + scale view, 224 px',
      { data: { imageSize: 224 }, emd: { marginals: 'mean-feature', scaleViewSize: 112 } },
    ],
    [
      'plan not detached (per-pair fallback), 96 px',
      { data: { imageSize: 96 }, emd: { detachPlan: false, scaleView: false } },
    ],
  ];
  it.each(cases)('%s: same loss and gradients', (_, overrides) => {
    const config = tinyConfig({ method: 'self-emd', optim: { batchSize: 2 }, ...overrides });
    const online = createEncoder(config, 'online', 11);
    const target = createEncoder(config, 'target', 11);
    const params = [...encoderVariables(online, 'params').values()];
    const s = config.data.imageSize;
    const views: Views = {
      v1: tf.randomNormal([2, s, s, 3], 0, 1, 'float32', 1),
      v2: tf.randomNormal([2, s, s, 3], 0, 1, 'float32', 2),
    };
    if (config.emd.scaleView) {
      const q = config.emd.scaleViewSize;
      views.small = tf.randomNormal([2, q, q, 3], 0, 1, 'float32', 3);
    }
    const before = tf.memory().numTensors;
    const fusedRun = tf.tidy(() => {
      const t = targetForward(target, views, config);
      const { value, grads } = tf.variableGrads(() => pretrainLoss(config, online, views, t).total, params);
      return { value, grads };
    });
    const refRun = tf.variableGrads(() => referenceLoss(config, online, target, views), params);
    const lossGot = fusedRun.value.dataSync()[0];
    const lossWant = refRun.value.dataSync()[0];
    expect(Math.abs(lossGot - lossWant)).toBeLessThan(1e-5);
    // Per parameter, error relative to its largest gradient entry, floored at 1e-4 of the largest
    // entry overall: biases right before a batch norm have a zero gradient up to rounding.
    const got = params.map((p) => fusedRun.grads[p.name].dataSync() as Float32Array);
    const want = params.map((p) => refRun.grads[p.name].dataSync() as Float32Array);
    const absMax = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const overall = Math.max(...want.map(absMax));
    expect(overall).toBeGreaterThan(1e-4);
    for (let i = 0; i < params.length; i++) {
      const scale = Math.max(absMax(want[i]), 1e-4 * overall);
      const err = got[i].reduce((m, v, j) => Math.max(m, Math.abs(v - want[i][j])), 0);
      expect(err / scale, params[i].name).toBeLessThan(1e-3);
    }
    tf.dispose([
      fusedRun.value,
      refRun.value,
      ...Object.values(fusedRun.grads),
      ...Object.values(refRun.grads),
    ]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(Object.values(views));
    for (const enc of [online, target])
      for (const m of [encoderVariables(enc, 'params'), encoderVariables(enc, 'buffers')])
        for (const v of m.values()) v.dispose();
  });
});
