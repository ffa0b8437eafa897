import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  writeSafetensors,
} from '../../../src-main/engine/export/safetensors';
import {
  backboneToTorchTensors,
  headToTorchTensors,
  loadBackboneFromSafetensors,
  loadHeadFromSafetensors,
} from '../../../src-main/engine/export/torch-state-dict';
import { createDenseMlpHead, createMlpHead } from '../../../src-main/engine/models/heads';
import { createBackbone } from '../../../src-main/engine/models/registry';
import { withoutSyncReads } from '../forbid-sync-reads';
import { calibrateBatchNorm } from './helpers';
import { removeTempDir, tempDir } from '../../temp-dir';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('selfemd-sd-');
});
afterAll(async () => {
  removeTempDir(dir);
});

describe('backbone → torch state_dict tensors', () => {
  it('keeps torchvision names and order, converts HWIO → OIHW, adds I64 num_batches_tracked', async () => {
    const b = createBackbone('resnet18', { baseWidth: 8, seed: 5 });
    calibrateBatchNorm(b, 1); // counts one update per BN
    // Read with await data() only: exports run on GPU backends too.
    const { tensors, metadata } = await withoutSyncReads(() =>
      backboneToTorchTensors(b, { method: 'byol', runId: 'run-42' }),
    );
    expect(metadata).toEqual({
      format: 'pt',
      method: 'byol',
      runId: 'run-42',
      arch: 'resnet18',
      baseWidth: '8',
    });
    expect(tensors.length).toBe(100 + 20);
    expect(tensors.slice(0, 7).map((t) => t.name)).toEqual([
      'conv1.weight',
      'bn1.weight',
      'bn1.bias',
      'bn1.running_mean',
      'bn1.running_var',
      'bn1.num_batches_tracked',
      'layer1.0.conv1.weight',
    ]);
    const byName = new Map(tensors.map((t) => [t.name, t]));
    const nbt = byName.get('layer2.0.downsample.1.num_batches_tracked');
    expect(nbt).toMatchObject({ dtype: 'I64', shape: [] });
    expect(nbt?.data[0]).toBe(1n);
    expect(byName.get('layer2.0.downsample.0.weight')?.shape).toEqual([16, 8, 1, 1]);
    expect(byName.get('layer3.0.conv1.weight')?.shape).toEqual([32, 16, 3, 3]);

    // element check of the transpose: torch[o][i][y][x] = ours[y][x][i][o]
    const ours = b.params.get('layer3.0.conv1.weight')?.arraySync() as number[][][][];
    const torch = byName.get('layer3.0.conv1.weight')?.data as Float32Array;
    for (const [o, i, y, x] of [
      [0, 0, 0, 0],
      [31, 15, 2, 2],
      [7, 3, 1, 2],
      [20, 9, 2, 0],
    ]) {
      expect(torch[((o * 16 + i) * 3 + y) * 3 + x]).toBe(ours[y][x][i][o]);
    }
    expect(Array.from(byName.get('bn1.running_var')?.data as Float32Array)).toEqual(
      Array.from(b.buffers.get('bn1.running_var')?.dataSync() ?? []),
    );
    b.dispose();
  });

  it('round-trips through a .safetensors file into a differently seeded backbone', async () => {
    const a = createBackbone('resnet34', { baseWidth: 4, seed: 1 });
    calibrateBatchNorm(a, 3);
    const path = join(dir, 'r34.safetensors');
    const exp = await backboneToTorchTensors(a, { method: 'self-emd' });
    // a torchvision checkpoint also carries fc.*: those are ignored, not errors
    await writeSafetensors(
      path,
      [...exp.tensors, { name: 'fc.weight', dtype: 'F32', shape: [10, 32], data: new Float32Array(320) }],
      exp.metadata,
    );
    const b = createBackbone('resnet34', { baseWidth: 4, seed: 2 });
    const before = tf.memory().numTensors;
    const report = await loadBackboneFromSafetensors(b, path);
    expect(tf.memory().numTensors).toBe(before);
    expect(report.ignored).toEqual(['fc.weight']);
    expect(report.loaded.length).toBe(a.params.size + a.buffers.size);
    for (const [name, v] of [...a.params, ...a.buffers]) {
      const w = b.params.get(name) ?? b.buffers.get(name);
      expect(Array.from(w?.dataSync() ?? []), name).toEqual(Array.from(v.dataSync()));
    }
    expect(
      (b as unknown as { numBatchesTracked: Map<string, number> }).numBatchesTracked.get('layer3.5.bn2'),
    ).toBe(1);
    a.dispose();
    b.dispose();
  });

  it('names the tensor and the file when names, shapes or architectures do not fit', async () => {
    const a = createBackbone('resnet18', { baseWidth: 4, seed: 1 });
    const exp = await backboneToTorchTensors(a);
    const path = join(dir, 'r18w4.safetensors');
    await writeSafetensors(path, exp.tensors, exp.metadata);
    const wide = createBackbone('resnet18', { baseWidth: 8 });
    await expect(loadBackboneFromSafetensors(wide, path)).rejects.toThrow(
      `${path}: baseWidth 4 does not match the backbone's 8`,
    );
    const r34 = createBackbone('resnet34', { baseWidth: 4 });
    await expect(loadBackboneFromSafetensors(r34, path)).rejects.toThrow(
      `${path}: holds a resnet18 backbone, cannot load into resnet34`,
    );

    // without metadata the shape check catches it, tensor by tensor
    const bare = decodeSafetensors(encodeSafetensors(exp.tensors));
    await expect(loadBackboneFromSafetensors(wide, bare)).rejects.toThrow(
      /tensor "conv1\.weight" has shape \[4, 3, 7, 7\], expected \[8, 3, 7, 7\]/,
    );
    const missing = decodeSafetensors(
      encodeSafetensors(exp.tensors.filter((t) => t.name !== 'layer4.1.bn2.running_var')),
    );
    await expect(loadBackboneFromSafetensors(a, missing)).rejects.toThrow(
      /missing tensor "layer4\.1\.bn2\.running_var" \(expected F32 \[32\]\)/,
    );
    const extra = decodeSafetensors(
      encodeSafetensors([
        ...exp.tensors,
        { name: 'head.w', dtype: 'F32', shape: [1], data: Float32Array.of(0) },
      ]),
    );
    await expect(loadBackboneFromSafetensors(a, extra)).rejects.toThrow(/unexpected tensor "head\.w"/);
    expect((await loadBackboneFromSafetensors(a, extra, { allowUnexpected: true })).ignored).toEqual([
      'head.w',
    ]);
    // a failed load leaves the model untouched
    const before = Array.from(wide.params.get('conv1.weight')?.dataSync() ?? []);
    await loadBackboneFromSafetensors(wide, bare).catch(() => undefined);
    expect(Array.from(wide.params.get('conv1.weight')?.dataSync() ?? [])).toEqual(before);
    [a, wide, r34].forEach((m) => m.dispose());
  });
});

describe('heads → torch tensors', () => {
  it('writes nn.Linear [out, in] for the vector head and 1×1 Conv2d [out, in, 1, 1] for the dense one', async () => {
    const vec = createMlpHead('projector', 6, 10, 3, 1);
    const dense = createDenseMlpHead('projector', 6, 10, 3, 1);
    const tv = new Map((await headToTorchTensors(vec)).tensors.map((t) => [t.name, t]));
    const td = new Map((await headToTorchTensors(dense)).tensors.map((t) => [t.name, t]));
    expect([...tv.keys()]).toEqual([
      'projector.0.weight',
      'projector.0.bias',
      'projector.1.weight',
      'projector.1.bias',
      'projector.1.running_mean',
      'projector.1.running_var',
      'projector.1.num_batches_tracked',
      'projector.3.weight',
      'projector.3.bias',
    ]);
    expect(tv.get('projector.0.weight')?.shape).toEqual([10, 6]);
    expect(td.get('projector.0.weight')?.shape).toEqual([10, 6, 1, 1]);
    expect(td.get('projector.3.weight')?.shape).toEqual([3, 10, 1, 1]);
    const ours = vec.params.get('projector.3.weight')?.arraySync() as number[][]; // [in=10, out=3]
    expect(tv.get('projector.3.weight')?.data[2 * 10 + 7]).toBe(ours[7][2]); // torch [o=2][i=7]
    expect(Array.from(td.get('projector.3.weight')?.data as Float32Array)).toEqual(
      Array.from(tv.get('projector.3.weight')?.data as Float32Array),
    );

    const path = join(dir, 'head.safetensors');
    const e = await headToTorchTensors(dense);
    await writeSafetensors(path, e.tensors, e.metadata);
    expect((await readSafetensors(path)).metadata).toMatchObject({
      head: 'projector',
      dims: '6,10,3',
      layout: 'conv1x1',
    });
    const other = createDenseMlpHead('projector', 6, 10, 3, 99);
    await loadHeadFromSafetensors(other, path);
    expect(Array.from(other.params.get('projector.0.weight')?.dataSync() ?? [])).toEqual(
      Array.from(dense.params.get('projector.0.weight')?.dataSync() ?? []),
    );
    // a dense file does not load into a vector head (shapes differ in rank)
    await expect(loadHeadFromSafetensors(vec, path)).rejects.toThrow(
      /tensor "projector\.0\.weight" has shape \[10, 6, 1, 1\], expected \[10, 6\]/,
    );
    [vec, dense, other].forEach((h) => h.dispose());
  });
});
