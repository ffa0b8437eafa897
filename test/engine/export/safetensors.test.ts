import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  writeSafetensors,
  type SafetensorsTensor,
} from '../../../src-main/engine/export/safetensors';
import { removeTempDir, tempDir } from '../../temp-dir';

let dir: string;
beforeAll(async () => {
  dir = tempDir('selfemd-st-');
});
afterAll(async () => {
  removeTempDir(dir);
});

/** A header + data section built by hand, for the decoder's error paths. */
function handMade(header: object, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors layout', () => {
  it('writes the header length, a space-padded JSON header and little-endian data, byte for byte', () => {
    const bytes = encodeSafetensors(
      [{ name: 'w', dtype: 'F32', shape: [2], data: Float32Array.of(1.5, -2) }],
      { k: 'v' },
    );
    const json = '{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    expect(json.length).toBe(79);
    const padded = 80; // next multiple of 8
    expect(bytes.length).toBe(8 + padded + 8);
    // u64 LE header length
    expect(Array.from(bytes.subarray(0, 8))).toEqual([80, 0, 0, 0, 0, 0, 0, 0]);
    expect(new TextDecoder().decode(bytes.subarray(8, 8 + 79))).toBe(json);
    expect(Array.from(bytes.subarray(8 + 79, 8 + 80))).toEqual([0x20]);
    // 1.5 = 0x3FC00000, −2 = 0xC0000000, little-endian
    expect(Array.from(bytes.subarray(88))).toEqual([0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0]);
  });

  it('puts I64 tensors first (8-byte aligned), then F32 by name; offsets tile the data', () => {
    const tensors: SafetensorsTensor[] = [
      { name: 'b', dtype: 'F32', shape: [3], data: Float32Array.of(1, 2, 3) },
      { name: 'a', dtype: 'F32', shape: [1, 1], data: Float32Array.of(4) },
      { name: 'n', dtype: 'I64', shape: [], data: BigInt64Array.of(-5n) },
    ];
    const bytes = encodeSafetensors(tensors);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header.__metadata__).toBeUndefined();
    expect(Object.keys(header)).toEqual(['n', 'a', 'b']);
    expect(header.n).toEqual({ dtype: 'I64', shape: [], data_offsets: [0, 8] });
    expect(header.a).toEqual({ dtype: 'F32', shape: [1, 1], data_offsets: [8, 12] });
    expect(header.b).toEqual({ dtype: 'F32', shape: [3], data_offsets: [12, 24] });
    const view = new DataView(bytes.buffer, 8 + n);
    expect(view.getBigInt64(0, true)).toBe(-5n);
    expect(view.getFloat32(8, true)).toBe(4);
    expect(view.getFloat32(20, true)).toBe(3);
    expect(bytes.length).toBe(8 + n + 24);
  });

  it('round-trips through a file: values, shapes, dtypes and metadata', async () => {
    const big = new Float32Array(1000).map((_, i) => Math.sin(i) * 1e3);
    const tensors: SafetensorsTensor[] = [
      { name: 'layer1.0.conv1.weight', dtype: 'F32', shape: [10, 10, 5, 2], data: big },
      { name: 'bn1.num_batches_tracked', dtype: 'I64', shape: [], data: BigInt64Array.of(123456789012n) },
      { name: 'empty', dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
    ];
    const path = join(dir, 'rt.safetensors');
    await writeSafetensors(path, tensors, { arch: 'resnet18', runId: 'r-1' });
    const back = await readSafetensors(path);
    expect(back.metadata).toEqual({ arch: 'resnet18', runId: 'r-1' });
    expect([...back.tensors.keys()].sort()).toEqual([
      'bn1.num_batches_tracked',
      'empty',
      'layer1.0.conv1.weight',
    ]);
    const w = back.tensors.get('layer1.0.conv1.weight');
    expect(w?.shape).toEqual([10, 10, 5, 2]);
    expect(w?.dtype).toBe('F32');
    expect(Array.from(w?.data as Float32Array)).toEqual(Array.from(big));
    expect(back.tensors.get('bn1.num_batches_tracked')?.data[0]).toBe(123456789012n);
    expect(back.tensors.get('empty')?.shape).toEqual([0, 3]);
  });

  it('refuses malformed input at write time', () => {
    expect(() =>
      encodeSafetensors([{ name: 'x', dtype: 'F32', shape: [2, 2], data: new Float32Array(3) }]),
    ).toThrow(/"x" has 3 values but shape \[2, 2\]/);
    const t: SafetensorsTensor = { name: 'x', dtype: 'F32', shape: [1], data: new Float32Array(1) };
    expect(() => encodeSafetensors([t, t])).toThrow(/duplicate tensor name "x"/);
    expect(() => encodeSafetensors([{ ...t, name: '__metadata__' }])).toThrow(/reserved/);
  });

  it('reports corrupt files naming the file and the tensor', async () => {
    const f4 = new Uint8Array(new Float32Array([1, 2]).buffer);
    const ok = handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f4);
    expect(decodeSafetensors(ok, 'ok.st').tensors.get('a')?.data[1]).toBe(2);

    const path = join(dir, 'truncated.safetensors');
    await writeFile(path, ok.subarray(0, 20));
    await expect(readSafetensors(path)).rejects.toThrow(
      new RegExp(`${path.replace(/[/.]/g, '\\$&')}: header length \\d+ runs past the end`),
    );
    expect(() => decodeSafetensors(ok.subarray(0, 5), 'tiny.st')).toThrow(/tiny\.st: too short/);
    expect(() =>
      decodeSafetensors(handMade({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f4), 'f.st'),
    ).toThrow(/f\.st: tensor "a": 8 bytes for F32 shape \[3\] \(expected 12\)/);
    expect(() =>
      decodeSafetensors(handMade({ a: { dtype: 'BF16', shape: [4], data_offsets: [0, 8] } }, f4), 'f.st'),
    ).toThrow(/tensor "a": unsupported dtype "BF16"/);
    expect(() =>
      decodeSafetensors(
        handMade(
          {
            a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
            b: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
          },
          f4,
        ),
        'f.st',
      ),
    ).toThrow(/tensor "b" starts at 0, expected 4/);
    expect(() =>
      decodeSafetensors(handMade({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f4), 'f.st'),
    ).toThrow(/4 trailing bytes/);
    const bad = new Uint8Array(16);
    new DataView(bad.buffer).setBigUint64(0, 2n ** 40n, true);
    expect(() => decodeSafetensors(bad, 'huge.st')).toThrow(/huge\.st: header length \d+ exceeds/);
    const raw = await readFile(path);
    expect(raw.length).toBe(20);
  });
});
