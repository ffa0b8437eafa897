import * as tf from '@tensorflow/tfjs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import {
  loadTfjsLayersBackbone,
  predictFeatures,
  saveBackboneAsTfjsLayers,
} from '../../../src-main/engine/export/tfjs-layers';
import { createMlpHead } from '../../../src-main/engine/models/heads';
import { createBackbone } from '../../../src-main/engine/models/registry';
import type { Backbone, FeatureName } from '../../../src-main/engine/models/types';
import { calibrateBatchNorm, maxAbs, maxAbsDiff } from './helpers';
import { removeTempDir, tempDir } from '../../temp-dir';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('selfemd-tfjs-');
});
afterAll(async () => {
  removeTempDir(dir);
});

describe('TF.js layers export', () => {
  it('resnet18: model.json + weights.bin load back and match the functional inference outputs', async () => {
    const b = createBackbone('resnet18', { baseWidth: 8, seed: 21 });
    calibrateBatchNorm(b, 4);
    const out = join(dir, 'r18');
    const res = await saveBackboneAsTfjsLayers(b, out, { metadata: { method: 'byol' } });
    const elements = [...b.params.values(), ...b.buffers.values()].reduce((s, v) => s + v.size, 0);
    expect(res.weightBytes).toBe(4 * elements);
    expect((await stat(res.weightsPath)).size).toBe(4 * elements);
    const json = JSON.parse(await readFile(res.modelJsonPath, 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(json.weightsManifest[0].weights.length).toBe(b.params.size + b.buffers.size);
    expect(json.userDefinedMetadata).toEqual({
      method: 'byol',
      arch: 'resnet18',
      baseWidth: '8',
      outputs: 'res2,res3,res4,res5',
    });

    const loaded = await loadTfjsLayersBackbone(out);
    expect(loaded.outputs).toEqual(['res2', 'res3', 'res4', 'res5']);
    for (const [h, w] of [
      [64, 64],
      [96, 64], // any size: the input is [null, null, null, 3]
    ]) {
      const x = tf.randomNormal([2, h, w, 3], 0, 1, 'float32', h) as tf.Tensor4D;
      const ref = b.forward(x, { training: false });
      const got = predictFeatures(loaded, x);
      for (const f of ['res2', 'res3', 'res4', 'res5'] as FeatureName[]) {
        const g = got[f] as tf.Tensor4D;
        expect(g.shape).toEqual(ref[f].shape);
        expect(maxAbs(ref[f])).toBeGreaterThan(0.5); // the comparison is not between near-zeros
        expect(maxAbsDiff(g, ref[f]), `${f} at ${h}×${w}`).toBeLessThan(1e-4);
      }
      tf.dispose([x, ...Object.values(ref), ...Object.values(got)]);
    }
    loaded.model.dispose();
    b.dispose();
  });

  it('resnet50 with res5 only: one output, equal to the functional res5', async () => {
    const b = createBackbone('resnet50', { baseWidth: 4, seed: 3 });
    calibrateBatchNorm(b, 5);
    const out = join(dir, 'r50');
    const before = tf.memory().numTensors;
    await saveBackboneAsTfjsLayers(b, out, { outputs: 'res5' });
    expect(tf.memory().numTensors).toBe(before); // the temporary layers model is disposed
    const loaded = await loadTfjsLayersBackbone(join(out, 'model.json'));
    expect(loaded.outputs).toEqual(['res5']);
    expect(loaded.model.outputs.length).toBe(1);
    const x = tf.randomNormal([1, 64, 64, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
    const ref = b.forward(x, { training: false });
    const got = predictFeatures(loaded, x);
    expect(got.res5?.shape).toEqual([1, 2, 2, 128]);
    expect(maxAbsDiff(got.res5 as tf.Tensor4D, ref.res5)).toBeLessThan(1e-4);
    tf.dispose([x, ...Object.values(ref), ...Object.values(got)]);
    loaded.model.dispose();
    b.dispose();
  });

  it('explains what is wrong with unsupported models and unreadable files', async () => {
    const head = createMlpHead('p', 2, 2, 2, 0);
    const notResNet = {
      ...head,
      name: 'mlp',
      baseWidth: 2,
      featureInfo: {},
      forward: () => ({}),
    } as unknown as Backbone;
    await expect(saveBackboneAsTfjsLayers(notResNet, join(dir, 'x'))).rejects.toThrow(
      /backbone "mlp" is not a ResNet/,
    );
    await expect(loadTfjsLayersBackbone(join(dir, 'nowhere'))).rejects.toThrow(
      /nowhere\/model\.json: cannot read a TF\.js model\.json/,
    );
    head.dispose();
  });
});
