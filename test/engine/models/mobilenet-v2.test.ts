/**
 * mobilenet_v2 against torchvision 0.14's `mobilenet_v2().features`: parameter count, names and
 * torch shapes (written out from torchvision's module structure), the named maps and their strides,
 * FREEZE_AT stages, width rules; and the registry equals shared's BACKBONE_NAMES.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKBONE_NAMES } from '../../../shared/config/backbones';
import { resolveFinetuneConfig } from '../../../shared/config/finetune';
import { resolvePretrainConfig } from '../../../shared/config/pretrain';
import { initBackend } from '../../../src-main/engine/backend/select';
import {
  backboneToTorchTensors,
  loadBackboneFromSafetensors,
} from '../../../src-main/engine/export/torch-state-dict';
import { backboneTrainableParams } from '../../../src-main/engine/detection/backbone-freeze';
import { makeDivisible } from '../../../src-main/engine/models/mobilenet-v2';
import { countParameters } from '../../../src-main/engine/models/parameter-set';
import { createBackbone, listBackbones } from '../../../src-main/engine/models/registry';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('mobilenet_v2 (torchvision parity)', () => {
  it("has torchvision's 2,223,872 features parameters at width 1.0 and 238,112 at 0.25", () => {
    // torchvision: sum(p.numel() for p in mobilenet_v2(width_mult=m).features.parameters())
    for (const [baseWidth, count] of [
      [32, 2_223_872],
      [8, 238_112],
    ]) {
      const b = createBackbone('mobilenet_v2', { baseWidth });
      expect(countParameters(b), `width ${baseWidth}`).toBe(count);
      // 52 conv+BN pairs: 52 convs + 52 BN γ/β; each BN 2 buffers
      expect([b.params.size, b.buffers.size]).toEqual([156, 104]);
      b.dispose();
    }
  });

  it("exports torchvision's state_dict names and torch shapes (first block, a t=6 block, the last conv)", async () => {
    const b = createBackbone('mobilenet_v2');
    const tensors = (await backboneToTorchTensors(b)).tensors;
    b.dispose();
    const shapes = new Map(tensors.map((t) => [t.name, t.shape.join(',')]));
    expect(tensors.slice(0, 7).map((t) => `${t.name} ${t.shape.join(',')}`)).toEqual([
      'features.0.0.weight 32,3,3,3',
      'features.0.1.weight 32',
      'features.0.1.bias 32',
      'features.0.1.running_mean 32',
      'features.0.1.running_var 32',
      'features.0.1.num_batches_tracked ',
      'features.1.conv.0.0.weight 32,1,3,3',
    ]);
    expect(shapes.get('features.1.conv.1.weight')).toBe('16,32,1,1');
    expect(shapes.get('features.1.conv.2.weight')).toBe('16');
    expect(shapes.get('features.2.conv.0.0.weight')).toBe('96,16,1,1');
    expect(shapes.get('features.2.conv.1.0.weight')).toBe('96,1,3,3');
    expect(shapes.get('features.2.conv.2.weight')).toBe('24,96,1,1');
    expect(shapes.get('features.2.conv.3.running_var')).toBe('24');
    expect(shapes.get('features.17.conv.2.weight')).toBe('320,960,1,1');
    expect(shapes.get('features.18.0.weight')).toBe('1280,320,1,1');
    expect(tensors.at(-1)!.name).toBe('features.18.1.num_batches_tracked');
    expect(tensors.filter((t) => t.dtype === 'F32').length).toBe(156 + 104);
  });

  it('loads its export back exactly, ignoring the classifier a torchvision state_dict carries', async () => {
    const a = createBackbone('mobilenet_v2', { baseWidth: 8, seed: 1 });
    const b = createBackbone('mobilenet_v2', { baseWidth: 8, seed: 2 });
    const exp = await backboneToTorchTensors(a);
    const tensors = new Map(exp.tensors.map((t) => [t.name, t]));
    for (const [name, shape] of [
      ['classifier.1.weight', [1000, 1280]],
      ['classifier.1.bias', [1000]],
    ] as const)
      tensors.set(name, {
        name,
        dtype: 'F32',
        shape: [...shape],
        data: new Float32Array(shape.reduce((p: number, q: number) => p * q, 1)),
      });
    const report = await loadBackboneFromSafetensors(b, { tensors, metadata: exp.metadata });
    expect(report.ignored).toEqual(['classifier.1.weight', 'classifier.1.bias']);
    const depthwise = 'features.2.conv.1.0.weight';
    expect(b.params.get(depthwise)!.shape).toEqual([3, 3, 1, 48]);
    for (const [name, v] of a.params)
      expect(Array.from(b.params.get(name)!.dataSync()), name).toEqual(Array.from(v.dataSync()));
    a.dispose();
    b.dispose();
  });

  it("rounds channels as torchvision's _make_divisible", () => {
    expect([16, 24, 32, 64, 96, 160, 320].map((c) => makeDivisible(c * 0.25))).toEqual([
      8, 8, 8, 16, 24, 40, 80,
    ]);
    expect(makeDivisible(1280 * 1.5)).toBe(1920);
    expect(makeDivisible(0.9 * 11)).toBe(16); // 8 would be more than 10% below 9.9
  });

  it('gives res2..res5 at strides 4/8/16/32 from features.3 / .6 / .13 / .18', () => {
    const b = createBackbone('mobilenet_v2', { baseWidth: 8 });
    expect(b.featureInfo).toEqual({
      res2: { stride: 4, channels: 8 },
      res3: { stride: 8, channels: 8 },
      res4: { stride: 16, channels: 24 },
      res5: { stride: 32, channels: 1280 },
    });
    const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const feats = b.forward(x, { training: false });
    expect(Object.fromEntries(Object.entries(feats).map(([k, v]) => [k, v.shape]))).toEqual({
      res2: [2, 16, 16, 8],
      res3: [2, 8, 8, 8],
      res4: [2, 4, 4, 24],
      res5: [2, 2, 2, 1280],
    });
    // ReLU6 ends the last layer: res5 lies in [0, 6]
    const range = tf.tidy(() => [tf.min(feats.res5).dataSync()[0]!, tf.max(feats.res5).dataSync()[0]!]);
    expect(range[0]).toBeGreaterThanOrEqual(0);
    expect(range[1]).toBeLessThanOrEqual(6);
    tf.dispose([x, ...Object.values(feats)]);
    b.dispose();
  });

  it('freezes by stage: stem = features.0, res2 = features.1–3, … as FREEZE_AT counts them', () => {
    const b = createBackbone('mobilenet_v2', { baseWidth: 8 });
    expect(
      [
        'features.0.0.weight',
        'features.3.conv.3.bias',
        'features.4.conv.0.0.weight',
        'features.13.conv.2.weight',
        'features.14.conv.0.0.weight',
        'features.18.1.weight',
        'fc.weight',
      ].map((n) => b.stageOf(n)),
    ).toEqual([0, 1, 2, 3, 4, 4, -1]);
    const trainable = backboneTrainableParams(b, 'frozen-bn', 2);
    expect(trainable.has('features.3.conv.2.weight')).toBe(false);
    expect(trainable.has('features.4.conv.0.0.weight')).toBe(true);
    expect(trainable.has('features.4.conv.0.1.weight')).toBe(false); // a frozen BN
    b.dispose();
  });

  it('refuses widths torchvision cannot build exactly, in the builder and in both configs', () => {
    expect(() => createBackbone('mobilenet_v2', { baseWidth: 12 })).toThrow(
      /mobilenet_v2.*baseWidth must be a positive multiple of 8/,
    );
    expect(() => resolvePretrainConfig({ backbone: { name: 'mobilenet_v2', baseWidth: 20 } })).toThrow(
      /backbone\.baseWidth.*multiple of 8/,
    );
    expect(() => resolveFinetuneConfig({ backbone: { name: 'mobilenet_v2', baseWidth: 4 } })).toThrow(
      /backbone\.baseWidth.*multiple of 8/,
    );
    expect(resolvePretrainConfig({ backbone: { name: 'mobilenet_v2', baseWidth: 16 } }).backbone.name).toBe(
      'mobilenet_v2',
    );
  });
});

describe('the backbone registry and the config list', () => {
  it("lists exactly shared's BACKBONE_NAMES, in the same order (the config and the studio read that list)", () => {
    expect(listBackbones()).toEqual([...BACKBONE_NAMES]);
  });
});
