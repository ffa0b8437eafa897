/**
 * A Mask R-CNN trained a few steps (the real fine-tuning loop, tiny widths) exported both ways and
 * loaded by torchvision where /usr/bin/python3 has PyTorch (CI installs it; elsewhere one skip line,
 * as the other torch tests):
 *
 * - the whole detector (detectorToTorchvisionTensors) into torchvision's MaskRCNN built at the same
 *   widths by bench/torch_detection_reference.py: nothing missing, nothing unexpected, and it runs
 *   inference (boxes, labels, scores, masks);
 * - the backbone alone (backboneToTorchTensors) into torchvision's ResNet at the same width
 *   (bench/torch_reference.py): only the classifier `fc.*` missing;
 * - both loaded bodies compute our backbone's features.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { referencePython, torchvisionMissing } from '../../../bench/detection-reference';
import { initBackend } from '../../../src-main/engine/backend/select';
import { runFinetune } from '../../../src-main/engine/detection/finetune';
import { loadFinetunedDetector } from '../../../src-main/engine/detection/predict';
import { detectorToTorchvisionTensors } from '../../../src-main/engine/export/detector-torchvision';
import { writeSafetensors, type SafetensorsTensor } from '../../../src-main/engine/export/safetensors';
import { backboneToTorchTensors } from '../../../src-main/engine/export/torch-state-dict';
import type { FeatureName } from '../../../src-main/engine/models/types';
import { skipUnlessTool } from '../../optional-tool';
import { overfitConfig, overfitScenes, tempRunDir } from '../detection/overfit-fixture';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'load_mask_rcnn_in_torchvision.py');
const FEATURES: FeatureName[] = ['res2', 'res3', 'res4', 'res5'];

const skipReason = skipUnlessTool({
  tool: 'PyTorch',
  tests: 'Mask R-CNN export loaded in torchvision',
  missing: torchvisionMissing(),
  install: 'apt-get install python3-torch python3-torchvision (or set SELFEMD_TORCH_PYTHON)',
});

interface Loaded {
  missing: string[];
  unexpected: string[];
  maxAbsDiff: Record<FeatureName, number>;
}
interface Report {
  detector: Loaded & { class: string; keys: number; outputs: Record<string, number[]> };
  backbone: Loaded & { arch: string };
  maxAbs: Record<FeatureName, number>;
}

const dir = tempRunDir('mask-rcnn-export');
beforeAll(async () => {
  await initBackend('wasm');
});

/** Float32 round-off over a few convs at these widths is ~1e-6; 1e-4 leaves room, a wrong BN does not fit. */
const TOLERANCE = 1e-4;

describe.skipIf(skipReason)('Mask R-CNN export in torchvision', () => {
  it('the detector loads into MaskRCNN with no key missing or unexpected; the backbone into ResNet without fc', async () => {
    const data = overfitScenes(1, 3);
    const config = overfitConfig('mask-rcnn', 2, 1, {
      fpn: { channels: 16 },
      rpn: { batchSizePerImage: 64 },
      roiHeads: { batchSizePerImage: 64, fcDim: 32 },
      roiMaskHead: { numConv: 2, convDim: 8 },
    });
    const runDir = path.join(dir, 'run');
    const result = await runFinetune({ config, train: data, val: data, runDir, hooks: {} });
    expect(result.status).toBe('completed');
    const { detector, categories, step } = loadFinetunedDetector(runDir);
    expect(step).toBe(2);
    const files = {
      detector: path.join(dir, 'detector.safetensors'),
      backbone: path.join(dir, 'backbone.safetensors'),
      io: path.join(dir, 'io.safetensors'),
      spec: path.join(dir, 'spec.json'),
    };
    let exported = 0;
    try {
      const whole = await detectorToTorchvisionTensors(detector, config);
      exported = whole.tensors.length;
      await writeSafetensors(files.detector, whole.tensors, whole.metadata);
      const body = await backboneToTorchTensors(detector.backbone, { method: 'mask-rcnn' });
      await writeSafetensors(files.backbone, body.tensors, body.metadata);
      // our inference features of the trained backbone on a seeded input, NCHW as torch reads them
      const x = tf.randomNormal([1, 64, 64, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
      const feats = detector.backbone.forward(x, { training: false });
      const nchw = (name: string, t: tf.Tensor): SafetensorsTensor => {
        const p = tf.transpose(t, [0, 3, 1, 2]);
        const out = { name, dtype: 'F32' as const, shape: p.shape, data: new Float32Array(p.dataSync()) };
        p.dispose();
        return out;
      };
      await writeSafetensors(files.io, [nchw('input', x), ...FEATURES.map((f) => nchw(f, feats[f]))]);
      tf.dispose([x, ...Object.values(feats)]);
    } finally {
      detector.dispose();
    }
    fs.writeFileSync(
      files.spec,
      JSON.stringify({ config, categories: categories.map((c) => c.id), weights: files.detector }),
    );

    const run = spawnSync(referencePython(), [SCRIPT, files.spec, files.backbone, files.io], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout.trim().split('\n').pop()!) as Report;
    console.log(
      `[mask-rcnn torchvision] ${report.detector.class}: ${report.detector.keys} keys, missing ${JSON.stringify(report.detector.missing)}, ` +
        `unexpected ${JSON.stringify(report.detector.unexpected)}; backbone missing ${JSON.stringify(report.backbone.missing)}; ` +
        `max feature diff ${Math.max(...Object.values(report.detector.maxAbsDiff)).toExponential(1)}`,
    );

    expect(report.detector.class).toBe('MaskRCNN');
    expect(report.detector.missing).toEqual([]);
    expect(report.detector.unexpected).toEqual([]);
    // every tensor of torchvision's model came from the file
    expect(report.detector.keys).toBe(exported);
    // inference through the loaded mask branch: one 1×H×W mask per detection
    const { boxes, masks } = report.detector.outputs;
    expect(masks!.slice(1)).toEqual([1, 64, 64]);
    expect(masks![0]).toBe(boxes![0]);

    expect(report.backbone.arch).toBe('resnet18');
    expect(report.backbone.missing).toEqual(['fc.bias', 'fc.weight']);
    expect(report.backbone.unexpected).toEqual([]);
    for (const f of FEATURES) {
      expect(report.maxAbs[f], f).toBeGreaterThan(0.1);
      expect(report.detector.maxAbsDiff[f], `detector body ${f}`).toBeLessThan(
        TOLERANCE * Math.max(1, report.maxAbs[f]),
      );
      expect(report.backbone.maxAbsDiff[f], `ResNet ${f}`).toBeLessThan(
        TOLERANCE * Math.max(1, report.maxAbs[f]),
      );
    }
  }, 180_000);
});
