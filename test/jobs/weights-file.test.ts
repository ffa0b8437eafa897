/** Reading which backbone an exported file holds, from its header only (jobs/service/weights-file.ts). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend/select';
import { writeSafetensors } from '../../src-main/engine/export/safetensors';
import { saveBackboneAsTfjsLayers } from '../../src-main/engine/export/tfjs-layers';
import { backboneToTorchTensors } from '../../src-main/engine/export/torch-state-dict';
import { createBackbone } from '../../src-main/engine/models/registry';
import { describeWeightsFile } from '../../src-main/jobs/service/weights-file';
import { tempDir } from '../temp-dir';

const dir = tempDir('selfemd-weights-');

function safetensors(name: string, header: Record<string, unknown>): string {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.concat([len, json, Buffer.alloc(16)]));
  return file;
}

describe('describeWeightsFile', () => {
  it('reads arch, width and the source run of a safetensors export', () => {
    const file = safetensors('r18.safetensors', {
      __metadata__: { format: 'pt', arch: 'resnet18', baseWidth: '32', run_id: 'abc' },
      'conv1.weight': { dtype: 'F32', shape: [32, 3, 7, 7], data_offsets: [0, 16] },
    });
    expect(describeWeightsFile(file)).toEqual({
      kind: 'safetensors',
      path: file,
      arch: 'resnet18',
      baseWidth: 32,
      runId: 'abc',
    });
  });

  it('reads a TF.js model given as model.json or as its folder', () => {
    const folder = path.join(dir, 'tfjs');
    fs.mkdirSync(folder);
    const file = path.join(folder, 'model.json');
    fs.writeFileSync(file, JSON.stringify({ userDefinedMetadata: { arch: 'resnet50', baseWidth: '64' } }));
    const want = { kind: 'tfjs', path: file, arch: 'resnet50', baseWidth: 64, runId: null };
    expect(describeWeightsFile(file)).toEqual(want);
    expect(describeWeightsFile(folder)).toEqual(want);
  });

  it('reads what the exporter writes (the one reader for the CLI and the studio)', async () => {
    await initBackend('wasm');
    const backbone = createBackbone('resnet34', { baseWidth: 4, seed: 1 });
    try {
      const st = path.join(dir, 'exported.safetensors');
      const exp = await backboneToTorchTensors(backbone, { run_id: 'run-7' });
      await writeSafetensors(st, exp.tensors, exp.metadata);
      expect(describeWeightsFile(st)).toEqual({
        kind: 'safetensors',
        path: st,
        arch: 'resnet34',
        baseWidth: 4,
        runId: 'run-7',
      });
      const folder = path.join(dir, 'exported-tfjs');
      await saveBackboneAsTfjsLayers(backbone, folder, { metadata: { run_id: 'run-7' } });
      expect(describeWeightsFile(folder)).toEqual({
        kind: 'tfjs',
        path: path.join(folder, 'model.json'),
        arch: 'resnet34',
        baseWidth: 4,
        runId: 'run-7',
      });
    } finally {
      backbone.dispose();
    }
  }, 60_000);

  it('says what is wrong with anything else, naming the file', () => {
    expect(describeWeightsFile('relative.safetensors')).toMatch(/absolute path/);
    expect(describeWeightsFile(path.join(dir, 'missing.safetensors'))).toMatch(
      /missing\.safetensors: no such file/,
    );
    const noMeta = safetensors('nometa.safetensors', {
      'conv1.weight': { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
    });
    expect(describeWeightsFile(noMeta)).toMatch(
      /nometa\.safetensors: not a torchvision ResNet or MobileNetV2 state dict: no "conv1\.weight" and "layer1\.0\.conv1\.weight"/,
    );
    const garbage = path.join(dir, 'garbage.safetensors');
    fs.writeFileSync(garbage, Buffer.from([255, 255, 255, 255, 255, 255, 255, 127, 1, 2]));
    expect(describeWeightsFile(garbage)).toMatch(/garbage\.safetensors: not a safetensors file/);
    const badJson = path.join(dir, 'bad');
    fs.mkdirSync(badJson);
    fs.writeFileSync(path.join(badJson, 'model.json'), '{ not json');
    expect(describeWeightsFile(badJson)).toMatch(/model\.json: not valid JSON/);
    const other = path.join(dir, 'weights.bin');
    fs.writeFileSync(other, 'x');
    expect(describeWeightsFile(other)).toMatch(/weights\.bin: not a backbone file/);
    const notTorch = path.join(dir, 'notes.pth');
    fs.writeFileSync(notTorch, 'not a torch file');
    expect(describeWeightsFile(notTorch)).toMatch(/notes\.pth: is neither a torch\.save zip archive/);
  });

  it('torchvision weights as safetensors without our metadata: depth and width from the header', () => {
    const entry = (shape: number[]) => ({ dtype: 'F32', shape, data_offsets: [0, 0] });
    const header: Record<string, unknown> = { 'conv1.weight': entry([24, 3, 7, 7]) };
    for (const layer of [1, 2, 3, 4])
      for (const block of [0, 1, 2]) header[`layer${layer}.${block}.conv1.weight`] = entry([1]);
    expect(describeWeightsFile(safetensors('tv-r34ish.safetensors', header))).toMatch(
      /a ResNet with 3\/3\/3\/3 blocks per stage \(basic\) is none of/,
    );
    for (const [layer, blocks] of [
      [2, 4],
      [3, 6],
      [3, 4],
      [3, 5],
    ] as const)
      header[`layer${layer}.${blocks - 1}.conv1.weight`] = entry([1]);
    expect(describeWeightsFile(safetensors('tv-r34.safetensors', header))).toMatchObject({
      kind: 'safetensors',
      arch: 'resnet34',
      baseWidth: 24,
      runId: null,
    });
  });
});
