/**
 * Mask R-CNN's pieces against hand-built cases: the mask targets (crop of the ground-truth mask to
 * the RoI, resize, mirror), pasting a mask back into the image, and the mask loss — its value
 * against binary cross-entropy computed in JS on the matched class only, and its gradient against
 * finite differences; masks through the training batch's resize and mirror; and the mask head's
 * torchvision names on export.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveFinetuneConfig } from '../../../shared/config/finetune';
import { initBackend } from '../../../src-main/engine/backend/select';
import { runFinetune } from '../../../src-main/engine/detection/finetune';
import { detectionDatasetFromCoco, makeTrainingBatch } from '../../../src-main/engine/detection/inputs';
import { createDetector } from '../../../src-main/engine/detection/registry';
import { detectorToTorchvisionTensors } from '../../../src-main/engine/export/detector-torchvision';
import { createBackbone } from '../../../src-main/engine/models/registry';
import { generateDemoScenes } from '../../../src-main/engine/data/demo-scenes';
import type { BinaryMask } from '../../../src-main/engine/data/masks/mask-types';
import { createMaskBranch, type Pooler } from '../../../src-main/engine/detection/mask-rcnn/mask-branch';
import { maskTargets, placeMask } from '../../../src-main/engine/detection/mask-rcnn/mask-targets';
import { pasteMask } from '../../../src-main/engine/detection/mask-rcnn/paste-masks';

beforeAll(async () => {
  await initBackend('cpu');
});

/** An h × w mask with the pixels of [x0, x1) × [y0, y1) set. */
function rectMask(h: number, w: number, x0: number, y0: number, x1: number, y1: number): BinaryMask {
  const data = new Uint8Array(h * w);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[y * w + x] = 1;
  return { height: h, width: w, data };
}

const rows = (t: Float32Array, M: number, r = 0) =>
  Array.from({ length: M }, (_, y) => Array.from(t.subarray((r * M + y) * M, (r * M + y + 1) * M)).join(''));

describe('mask targets', () => {
  const mask = rectMask(40, 60, 10, 8, 30, 24); // 20 × 16 object

  it('crop the object to the box: all ones on its own box, its left half on a box twice as wide', () => {
    const M = 8;
    const placed = placeMask(mask, [40, 60], false);
    const t = maskTargets(Float32Array.from([10, 8, 30, 24, 10, 8, 50, 24]), [placed, placed], M);
    expect(rows(t, M, 0)).toEqual(Array(M).fill('11111111'));
    expect(rows(t, M, 1)).toEqual(Array(M).fill('11110000'));
  });

  it('follow the resize and the mirror of the batch image', () => {
    const M = 8;
    // the batch image is the original at half size, mirrored: the object is at x ∈ [30 − 15, 30 − 5]
    const placed = placeMask(mask, [20, 30], true);
    const t = maskTargets(Float32Array.from([5, 4, 25, 12]), [placed], M);
    // the box spans x 5..25 of the mirrored image; the object (mirrored) spans 15..25: the right half
    expect(rows(t, M)).toEqual(Array(M).fill('00001111'));
  });

  it('threshold the RoIAlign average at 0.5', () => {
    const M = 2;
    // object covers 3 of 4 columns of a 4-px box: the right bin is half covered (0.5 → 1)
    const t = maskTargets(Float32Array.from([10, 8, 14, 12]), [placeMask(mask, [40, 60], false)], M);
    expect(Array.from(t)).toEqual([1, 1, 1, 1]);
    const t2 = maskTargets(Float32Array.from([28, 8, 32, 12]), [placeMask(mask, [40, 60], false)], M);
    expect(Array.from(t2)).toEqual([1, 0, 1, 0]);
  });
});

describe('pasting masks', () => {
  it('an all-ones mask fills exactly its (integer) box', () => {
    const M = 4;
    const m = pasteMask(new Float32Array(M * M).fill(1), 0, M, [3, 2, 9, 7], 12, 16);
    expect(m.data.reduce((s, v) => s + v, 0)).toBe(6 * 5);
    expect(m.data[2 * 16 + 3]).toBe(1);
    expect(m.data[6 * 16 + 8]).toBe(1);
    expect(m.data[1 * 16 + 3]).toBe(0);
    expect(m.data[2 * 16 + 9]).toBe(0);
  });

  it('a target crop pasted back into its box gives the object again', () => {
    const M = 28;
    const mask = rectMask(64, 64, 12, 20, 40, 34);
    const box = [8, 16, 48, 40];
    const t = maskTargets(Float32Array.from(box), [placeMask(mask, [64, 64], false)], M);
    const back = pasteMask(t, 0, M, box, 64, 64);
    let inter = 0;
    let union = 0;
    for (let i = 0; i < back.data.length; i++) {
      inter += back.data[i]! & mask.data[i]!;
      union += back.data[i]! | mask.data[i]!;
    }
    expect(inter / union).toBeGreaterThan(0.95);
  });
});

describe('mask loss', () => {
  const K = 3;
  const P = 2;
  const C = 3;
  const config = resolveFinetuneConfig({
    detector: 'mask-rcnn',
    roiMaskHead: { numConv: 1, convDim: 4, poolerResolution: P },
  });

  /** Two foreground RoIs (classes 2 and 0) with their targets, on pooled features that are a variable. */
  function tinyCase() {
    const branch = createMaskBranch(config, C, K, 5);
    // Larger predictor weights than the 0.001 init, so the gradient to the features is not tiny.
    const pred = branch.head.params.get('mask_head.predictor.weight')!;
    pred.assign(tf.mul(tf.randomNormal(pred.shape, 0, 1, 'float32', 3), 0.5));
    const features = tf.variable(tf.randomNormal([2, P, P, C], 0, 1, 'float32', 7) as tf.Tensor4D);
    const pool: Pooler = (_b, _i, numRois) => {
      expect(numRois).toBe(2);
      return features as unknown as tf.Tensor4D;
    };
    const M = 2 * P;
    const targets = Float32Array.from({ length: 2 * M * M }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0));
    const plan = {
      boxes: new Float32Array(8),
      batchIndex: Int32Array.from([0, 0]),
      classes: Int32Array.from([2, 0]),
      targets,
    };
    return { branch, features, pool, plan, M };
  }

  it('is the mean binary cross-entropy over the foreground pixels of each RoI’s own class', () => {
    const { branch, features, pool, plan, M } = tinyCase();
    const logits = branch.head.forward(features as unknown as tf.Tensor4D);
    const x = logits.dataSync();
    let expected = 0;
    for (let r = 0; r < 2; r++)
      for (let p = 0; p < M * M; p++) {
        const z = x[(r * M * M + p) * K + plan.classes[r]!]!;
        const t = plan.targets[r * M * M + p]!;
        expected += Math.max(z, 0) - z * t + Math.log1p(Math.exp(-Math.abs(z)));
      }
    expected /= 2 * M * M;
    const loss = branch.loss(pool, plan, 2);
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 5);
    // another class's logits do not enter: the same loss with the classes swapped differs
    const swapped = branch.loss(pool, { ...plan, classes: Int32Array.from([0, 2]) }, 2);
    expect(Math.abs(swapped.dataSync()[0]! - expected)).toBeGreaterThan(1e-4);
    tf.dispose([logits, loss, swapped, features]);
    branch.dispose();
  });

  it('has gradients equal to finite differences (features, conv, deconv and predictor weights)', () => {
    const { branch, features, pool, plan } = tinyCase();
    const vars: [string, tf.Variable][] = [
      ['features', features],
      ['mask_fcn1', branch.head.params.get('mask_head.mask_fcn1.weight')!],
      ['deconv', branch.head.params.get('mask_head.deconv.weight')!],
      ['predictor', branch.head.params.get('mask_head.predictor.weight')!],
    ];
    const f = () => branch.loss(pool, plan, 2);
    const { grads } = tf.variableGrads(
      f,
      vars.map(([, v]) => v),
    );
    const eps = 1e-2;
    for (const [name, v] of vars) {
      const g = grads[v.name]!.dataSync();
      const base = v.dataSync().slice();
      for (const i of [0, Math.floor(base.length / 2), base.length - 1]) {
        const at = (d: number) => {
          const moved = base.slice();
          moved[i] = moved[i]! + d;
          v.assign(tf.tensor(moved, v.shape));
          return tf.tidy(() => f().dataSync()[0]!);
        };
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        v.assign(tf.tensor(base, v.shape));
        expect(Math.abs(g[i]! - numeric), `${name}[${i}]: ${g[i]} vs ${numeric}`).toBeLessThan(
          2e-3 + 0.02 * Math.abs(numeric),
        );
      }
    }
    tf.dispose([features, ...Object.values(grads)]);
    branch.dispose();
  });
});

describe('torchvision export of the mask head', () => {
  it('writes MaskRCNNHeads / MaskRCNNPredictor names and shapes, a zero background mask first', async () => {
    const K = 2;
    const config = resolveFinetuneConfig({
      detector: 'mask-rcnn',
      backbone: { name: 'resnet18', baseWidth: 4 },
      fpn: { channels: 8 },
      roiHeads: { fcDim: 8 },
      roiMaskHead: { numConv: 2, convDim: 6 },
    });
    const det = createDetector(config, createBackbone('resnet18', { baseWidth: 4 }), K);
    const { tensors } = await detectorToTorchvisionTensors(det, config);
    const shapes = Object.fromEntries(
      tensors.filter((t) => t.name.includes('mask_')).map((t) => [t.name, t.shape]),
    );
    expect(shapes).toEqual({
      'roi_heads.mask_head.0.0.weight': [6, 8, 3, 3],
      'roi_heads.mask_head.0.0.bias': [6],
      'roi_heads.mask_head.1.0.weight': [6, 6, 3, 3],
      'roi_heads.mask_head.1.0.bias': [6],
      'roi_heads.mask_predictor.conv5_mask.weight': [6, 6, 2, 2],
      'roi_heads.mask_predictor.conv5_mask.bias': [6],
      'roi_heads.mask_predictor.mask_fcn_logits.weight': [K + 1, 6, 1, 1],
      'roi_heads.mask_predictor.mask_fcn_logits.bias': [K + 1],
    });
    const logits = tensors.find((t) => t.name === 'roi_heads.mask_predictor.mask_fcn_logits.weight')!;
    const ours = det.parts.get('roi_mask_head')!.params.get('mask_head.predictor.weight')!.dataSync();
    const data = logits.data as Float32Array;
    expect(Array.from(data.subarray(0, 6))).toEqual([0, 0, 0, 0, 0, 0]);
    // class k's row is our output channel k ([1, 1, in, out] → [out, in, 1, 1])
    for (let k = 0; k < K; k++)
      for (let i = 0; i < 6; i++) expect(data[(k + 1) * 6 + i]).toBe(ours[i * K + k]);
    det.dispose();
  });
});

describe('masks in the training batch', () => {
  it('travel with the boxes through resize and mirror: a mirrored image’s targets are the mirrored targets', () => {
    const scenes = generateDemoScenes({ count: 1, size: 64, seed: 2, stream: 'masks' });
    const data = detectionDatasetFromCoco(scenes.images, scenes.coco);
    const sample = data.samples[0]!;
    expect(sample.segmentations).toHaveLength(sample.classes.length);
    const M = 14;
    const targetsOf = (flip: boolean) => {
      const { batch, targets } = makeTrainingBatch([sample], 96, 160, [flip]);
      batch.images.dispose();
      const masks = targets.masks![0]!.map((m) => m!);
      return maskTargets(targets.boxes[0]!, masks, M);
    };
    const plain = targetsOf(false);
    const mirrored = targetsOf(true);
    const R = sample.classes.length;
    for (let r = 0; r < R; r++)
      for (let y = 0; y < M; y++)
        for (let x = 0; x < M; x++)
          expect(mirrored[(r * M + y) * M + x]).toBe(plain[(r * M + y) * M + (M - 1 - x)]);
    // each object's own box is mostly its mask (visible pixels of a convex-ish shape)
    for (let r = 0; r < R; r++) {
      const filled = plain.subarray(r * M * M, (r + 1) * M * M).reduce((s, v) => s + v, 0);
      expect(filled / (M * M)).toBeGreaterThan(0.2);
    }
  });
});

describe('a dataset without masks', () => {
  it('cannot fine-tune mask-rcnn: the error names data.train and says why', async () => {
    const scenes = generateDemoScenes({ count: 2, size: 64, seed: 2, stream: 'masks' });
    const coco = {
      ...scenes.coco,
      annotations: scenes.coco.annotations.map(({ segmentation: _s, ...a }) => a),
    };
    const data = detectionDatasetFromCoco(scenes.images, coco);
    expect(data.samples[0]!.segmentations).toBeUndefined();
    const config = resolveFinetuneConfig({ detector: 'mask-rcnn', data: { train: 'boxes-only.json' } });
    await expect(runFinetune({ config, train: data, runDir: '/nonexistent' })).rejects.toThrow(
      /data\.train \(boxes-only\.json\): no instance masks/,
    );
  });
});
