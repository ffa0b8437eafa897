/**
 * Reading PyTorch state dicts without Python (engine/export/torch-file.ts), detecting their
 * architecture, and starting a detector's backbone from them:
 *
 * - Always: the frozen fixtures fixtures/tiny-conv-bn{,-legacy}.pth (written by torch 1.13's
 *   torch.save via torch_state_dicts.py) read to the values the script put in them — a transposed
 *   view, storage offsets into a shared storage, float16 / bfloat16 / float64 widened, int64 kept.
 * - Where PyTorch is installed (a machine without it skips with one line): torchvision's resnet18 at
 *   width 16, saved by torch.save in both formats, reads to tensors bit-identical to PyTorch's (sha256
 *   of each tensor's bytes), is recognised as resnet18 width 16, and initBackbone (what a fine-tune
 *   starts from) holds exactly those tensors; a pickled module, a wrong-shaped key and a wrong width
 *   are errors naming the class, the key and the shapes.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveFinetuneConfig } from '../../../shared/config/finetune';
import { torchvisionMissing } from '../../../bench/detection-reference';
import { initBackend } from '../../../src-main/engine/backend/select';
import { initBackbone } from '../../../src-main/engine/detection/backbone-init';
import { writeSafetensors } from '../../../src-main/engine/export/safetensors';
import {
  decodeTorchStateDict,
  readTorchStateDict,
  readTorchStateDictHeader,
} from '../../../src-main/engine/export/torch-file';
import { parameterSetToTorchTensors } from '../../../src-main/engine/export/torch-state-dict';
import { bytesSource } from '../../../src-main/engine/export/zip-entries';
import { detectArchitecture } from '../../../src-main/engine/models/detect-architecture';
import { describeWeightsFile } from '../../../src-main/jobs/service/weights-file';
import { skipUnlessTool } from '../../optional-tool';
import { tempDir } from '../../temp-dir';

const PYTHON = process.env.SELFEMD_TORCH_PYTHON ?? '/usr/bin/python3';
const HERE = dirname(fileURLToPath(import.meta.url));
const SCRIPT = join(HERE, 'torch_state_dicts.py');
const FIXTURES = join(HERE, 'fixtures');

const values = (name: string, file: string) => {
  const t = readTorchStateDict(file).tensors.get(name);
  if (!t) throw new Error(`${file} has no ${name}`);
  return { shape: t.shape, dtype: t.dtype, data: Array.from(t.data as ArrayLike<number | bigint>) };
};

describe('the frozen fixtures (no Python)', () => {
  for (const file of ['tiny-conv-bn.pth', 'tiny-conv-bn-legacy.pth']) {
    it(`${file}: every tensor as torch_state_dicts.py wrote it`, () => {
      const p = join(FIXTURES, file);
      const sd = readTorchStateDict(p);
      expect(sd.format).toBe(file.includes('legacy') ? 'legacy' : 'zip');
      expect([...sd.tensors.keys()]).toEqual([
        'conv.weight',
        'proj.weight',
        'bn.weight',
        'bn.bias',
        'bn.running_mean',
        'bn.running_var',
        'bn.num_batches_tracked',
        'scale',
      ]);
      expect(values('conv.weight', p)).toEqual({
        shape: [2, 3, 3, 3],
        dtype: 'F32',
        data: Array.from({ length: 54 }, (_, i) => i / 8),
      });
      // (arange(6).reshape(2, 3) - 2).t(): stride (1, 3), copied out row-major
      expect(values('proj.weight', p)).toEqual({ shape: [3, 2], dtype: 'F32', data: [-2, 1, -1, 2, 0, 3] });
      expect(values('bn.weight', p).data).toEqual([1.5, -2.25]); // float16
      expect(values('bn.bias', p).data).toEqual([0.5, -0.125]); // bfloat16
      expect(values('bn.running_mean', p).data).toEqual([0.5, 0.75]); // arange(8)/4 [2:4]
      expect(values('bn.running_var', p).data).toEqual([1.25, 1.5]); // the same storage [5:7]
      expect(values('bn.num_batches_tracked', p)).toEqual({ shape: [], dtype: 'I64', data: [7n] });
      expect(values('scale', p).data).toEqual([Math.fround(0.1)]); // float64 rounded to float32
    });
  }

  it('reads names and shapes without the tensors, and refuses damaged or foreign files by name', () => {
    const header = readTorchStateDictHeader(join(FIXTURES, 'tiny-conv-bn.pth'));
    expect(header.tensors.find((t) => t.name === 'bn.weight')).toEqual({
      name: 'bn.weight',
      shape: [2],
      storage: 'HalfStorage',
    });
    const bytes = new Uint8Array(readFileSync(join(FIXTURES, 'tiny-conv-bn.pth')));
    expect(() => decodeTorchStateDict(bytesSource(bytes.subarray(0, 1000)), 'cut.pth')).toThrow(
      /^cut\.pth: not a zip archive \(no end of central directory\)/,
    );
    expect(() => decodeTorchStateDict(bytesSource(new TextEncoder().encode('hello')), 'x.pth')).toThrow(
      /^x\.pth: is neither a torch\.save zip archive nor a legacy torch pickle/,
    );
  });

  it('detects a ResNet from names and shapes; a non-ResNet or an unknown depth is named', () => {
    const shapes = new Map<string, number[]>([
      ['conv1.weight', [24, 3, 7, 7]],
      ...[0, 1, 2].map((i) => [`layer1.${i}.conv1.weight`, [24, 24, 1, 1]] as [string, number[]]),
      ['layer1.0.conv3.weight', [96, 24, 1, 1]],
      ...[0, 1, 2, 3].map((i) => [`layer2.${i}.conv1.weight`, [48, 96, 1, 1]] as [string, number[]]),
      ...[0, 1, 2, 3, 4, 5].map((i) => [`layer3.${i}.conv1.weight`, [1, 1, 1, 1]] as [string, number[]]),
      ...[0, 1, 2].map((i) => [`layer4.${i}.conv1.weight`, [1, 1, 1, 1]] as [string, number[]]),
    ]);
    expect(detectArchitecture(shapes, 'f.pth')).toEqual({ name: 'resnet50', baseWidth: 24 });
    shapes.delete('layer3.5.conv1.weight');
    expect(() => detectArchitecture(shapes, 'f.pth')).toThrow(
      /^f\.pth: a ResNet with 3\/4\/5\/3 blocks per stage \(bottleneck\) is none of resnet18/,
    );
    expect(() =>
      detectArchitecture(
        new Map([
          ['conv1.weight', [8, 1, 3, 3]],
          ['layer1.0.conv1.weight', [1]],
        ]),
        'g.pth',
      ),
    ).toThrow(
      'g.pth: key "conv1.weight" has shape [8, 1, 3, 3]; a torchvision ResNet\'s stem is [width, 3, 7, 7]',
    );
    expect(() => detectArchitecture(new Map([['module.conv1.weight', [8, 3, 7, 7]]]), 'h.pth')).toThrow(
      /h\.pth: not a torchvision ResNet or MobileNetV2 state dict.*DataParallel/,
    );
  });
});

const skipReason = skipUnlessTool({
  tool: 'PyTorch',
  tests: 'torch.save → reader checks on a live torchvision resnet18 (the frozen-fixture checks still run)',
  missing: torchvisionMissing(PYTHON),
  install: 'apt-get install python3-torch python3-torchvision (or set SELFEMD_TORCH_PYTHON)',
});

describe.skipIf(skipReason !== '')(
  "torchvision's resnet18 (width 16) and mobilenet_v2 (×0.25), saved by PyTorch",
  () => {
    let dir: string;
    let expected: Record<string, { shape: number[]; sha256: string }>;
    const sha = (t: { data: ArrayBufferView }) =>
      createHash('sha256')
        .update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))
        .digest('hex');
    const config = (file: string, baseWidth = 16) =>
      resolveFinetuneConfig({
        init: { kind: 'pytorch', path: file },
        backbone: { name: 'resnet18', baseWidth },
      });

    beforeAll(async () => {
      await initBackend('wasm');
      dir = tempDir('selfemd-pth-');
      const r = spawnSync(PYTHON, [SCRIPT, 'resnet', dir, '16', '3'], { encoding: 'utf8', timeout: 300_000 });
      if (r.status !== 0) throw new Error(`${SCRIPT} failed: ${r.stderr}`);
      expected = JSON.parse(r.stdout) as typeof expected;
    }, 320_000);

    for (const file of ['resnet18.pth', 'resnet18-legacy.pt', 'checkpoint.pth']) {
      it(`${file}: every tensor bit-identical to PyTorch's`, () => {
        const sd = readTorchStateDict(join(dir, file));
        expect([...sd.tensors.keys()]).toEqual(Object.keys(expected));
        for (const [name, t] of sd.tensors) {
          expect(t.shape, name).toEqual(expected[name]!.shape);
          expect(sha(t), name).toBe(expected[name]!.sha256);
        }
        expect(sd.skipped).toEqual(file === 'checkpoint.pth' ? ['epoch'] : []);
      });
    }

    it('the studio reads its architecture from the file; the backbone starts from exactly its tensors', async () => {
      const file = join(dir, 'resnet18.pth');
      expect(describeWeightsFile(file)).toEqual({
        kind: 'pytorch',
        path: file,
        arch: 'resnet18',
        baseWidth: 16,
        runId: null,
      });
      const before = tf.memory().numTensors;
      const { backbone, description } = await initBackbone(config(file));
      expect(description).toMatch(
        /PyTorch state dict .*resnet18\.pth \(100 tensors, fc\.weight, fc\.bias unused\)/,
      );
      const ours = await parameterSetToTorchTensors(backbone);
      const fileTensors = readTorchStateDict(file).tensors;
      for (const t of ours) expect(sha(t), t.name).toBe(sha(fileTensors.get(t.name)!));
      expect(ours.length).toBe(fileTensors.size - 2); // all but fc.weight, fc.bias
      backbone.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });

    it("torchvision's mobilenet_v2 (width_mult 0.25): detected at stem width 8, loaded but for its classifier", async () => {
      const file = join(dir, 'mobilenet_v2.pth');
      expect(describeWeightsFile(file)).toMatchObject({
        kind: 'pytorch',
        arch: 'mobilenet_v2',
        baseWidth: 8,
      });
      const { backbone, description } = await initBackbone(
        resolveFinetuneConfig({
          init: { kind: 'pytorch', path: file },
          backbone: { name: 'mobilenet_v2', baseWidth: 8 },
        }),
      );
      expect(description).toMatch(/classifier\.1\.weight, classifier\.1\.bias unused/);
      const fileTensors = readTorchStateDict(file).tensors;
      for (const t of await parameterSetToTorchTensors(backbone))
        expect(sha(t), t.name).toBe(sha(fileTensors.get(t.name)!));
      backbone.dispose();
    });

    it('torchvision weights as safetensors without our metadata: architecture from the header', async () => {
      const file = join(dir, 'resnet18.safetensors');
      await writeSafetensors(file, [...readTorchStateDict(join(dir, 'resnet18.pth')).tensors.values()]);
      expect(describeWeightsFile(file)).toMatchObject({
        kind: 'safetensors',
        arch: 'resnet18',
        baseWidth: 16,
      });
    });

    it('a pickled module, a wrong-shaped key and a wrong width are errors naming them', async () => {
      expect(describeWeightsFile(join(dir, 'module.pth'))).toMatch(
        /module\.pth: holds a pickled torchvision\.models\.resnet\.WidthResNet|module\.pth: holds a pickled __main__\.WidthResNet/,
      );
      await expect(initBackbone(config(join(dir, 'wrong-shape.pth')))).rejects.toThrow(
        'tensor "layer2.0.conv1.weight" has shape [32, 16, 1, 1], expected [32, 16, 3, 3]',
      );
      await expect(initBackbone(config(join(dir, 'resnet18.pth'), 8))).rejects.toThrow(
        /resnet18\.pth holds a resnet18 of width 16, but backbone is resnet18 of width 8/,
      );
      writeFileSync(join(dir, 'empty.pth'), '');
      expect(describeWeightsFile(join(dir, 'empty.pth'))).toMatch(/empty\.pth: is empty/);
    });
  },
);
