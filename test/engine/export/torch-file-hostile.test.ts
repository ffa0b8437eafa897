/**
 * The PyTorch reader (engine/export/torch-file.ts, pickle.ts, zip-entries.ts) on files it must read
 * that the frozen torch fixtures do not cover, and on broken or hostile ones. Every refusal is an
 * Error whose message starts with the file and says the problem; nothing loops, and nothing
 * allocates much more than the file holds:
 *
 * - hand-built files (torch-file-builders.ts): zip64, deflated entries and data descriptors read as
 *   a plain archive does; a big-endian archive (`byteorder` = big) with float32, float16 and int64
 *   storages, two tensors sharing one; a stride reaching past the storage, a negative or fractional
 *   storage offset, an unknown opcode, a cyclic object state, a deflated entry inflating past its
 *   declared size; each fixture truncated at every length and with bytes overwritten.
 * - in a child process with a timeout (torch-file-hostile-child.ts), what loops or fills memory in
 *   an unguarded reader: a negative string length, a 4 MiB integer, a zero-stride tensor of 2^26.
 * - a legacy-format training checkpoint written by torch 1.13 (fixtures/tiny-checkpoint-legacy.pth,
 *   torch_state_dicts.py checkpoint) whose optimizer holds storages no state-dict tensor uses.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeTorchStateDict, readTorchStateDict } from '../../../src-main/engine/export/torch-file';
import { bytesSource } from '../../../src-main/engine/export/zip-entries';
import { HOSTILE_CASES } from './torch-file-hostile-child';
import {
  cat,
  op,
  stateDictPickle,
  storageBytes,
  torchZip,
  type TensorSpec,
  zipOf,
} from './torch-file-builders';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(HERE, 'fixtures');

const decode = (bytes: Uint8Array, source = 'hostile.pth') =>
  decodeTorchStateDict(bytesSource(bytes), source);
const values = (bytes: Uint8Array) =>
  Object.fromEntries(
    [...decode(bytes).tensors].map(([k, t]) => [
      k,
      { shape: t.shape, dtype: t.dtype, data: Array.from(t.data as ArrayLike<number | bigint>) },
    ]),
  );

const f32 = (name: string, key: string, numel: number, offset: number, size: number[], stride: number[]) =>
  ({ name, storage: 'FloatStorage', key, numel, offset, size, stride }) satisfies TensorSpec;

/** A [2, 3] matrix stored row-major, its transposed view and a slice: three tensors of one storage. */
const shared = stateDictPickle([
  f32('m', '0', 6, 0, [2, 3], [3, 1]),
  f32('mt', '0', 6, 0, [3, 2], [1, 3]),
  f32('row1', '0', 6, 3, [3], [1]),
  { name: 'h', storage: 'HalfStorage', key: '1', numel: 2, offset: 0, size: [2], stride: [1] },
  { name: 'n', storage: 'LongStorage', key: '2', numel: 1, offset: 0, size: [], stride: [] },
]);
const sharedValues = {
  m: { shape: [2, 3], dtype: 'F32', data: [0, 1, 2, 3, 4, 5] },
  mt: { shape: [3, 2], dtype: 'F32', data: [0, 3, 1, 4, 2, 5] },
  row1: { shape: [3], dtype: 'F32', data: [3, 4, 5] },
  h: { shape: [2], dtype: 'F32', data: [1.5, -2.25] },
  n: { shape: [], dtype: 'I64', data: [7n] },
};
const sharedStorages = (littleEndian: boolean) => ({
  '0': storageBytes('f32', [0, 1, 2, 3, 4, 5], littleEndian),
  '1': storageBytes('f16', [1.5, -2.25], littleEndian),
  '2': storageBytes('i64', [7], littleEndian),
});

describe('archives torch.save or a zip tool may write', () => {
  it('stored, deflated, with data descriptors, zip64: the same tensors', () => {
    expect(values(torchZip(shared, sharedStorages(true)))).toEqual(sharedValues);
    expect(values(torchZip(shared, sharedStorages(true), { method: 8 }))).toEqual(sharedValues);
    expect(values(torchZip(shared, sharedStorages(true), { dataDescriptors: true }))).toEqual(sharedValues);
    expect(values(torchZip(shared, sharedStorages(true), { zip64: true, method: 8 }))).toEqual(sharedValues);
  });

  it('a big-endian archive (byteorder "big") reads to the same values', () => {
    expect(values(torchZip(shared, sharedStorages(false), { byteorder: 'big' }))).toEqual(sharedValues);
    // and the byte order is not ignored: little-endian bytes declared big are other numbers
    expect(values(torchZip(shared, sharedStorages(true), { byteorder: 'big' })).m!.data).not.toEqual(
      sharedValues.m.data,
    );
  });
});

describe('broken and hostile files are refused naming the file and the problem', () => {
  const one = (spec: Partial<TensorSpec>, storage = storageBytes('f32', [0, 1, 2, 3, 4, 5])) =>
    torchZip(stateDictPickle([{ ...f32('w', '0', 6, 0, [2, 3], [3, 1]), ...spec }]), { '0': storage });

  it('a stride or offset reaching past the storage', () => {
    expect(() => decode(one({ stride: [4, 1] }))).toThrow(
      'hostile.pth: tensor "w": reaches element 6 of a storage of 6 (FloatStorage 0)',
    );
    expect(() => decode(one({ offset: 1 }))).toThrow(/^hostile\.pth: tensor "w": reaches element 6/);
  });

  it('a negative or fractional storage offset (not read from before the storage or between elements)', () => {
    expect(() => decode(one({ offset: -3, size: [3], stride: [1] }))).toThrow(
      /^hostile\.pth: .*storage offset -3 is not a whole number ≥ 0/,
    );
    // the offset's BININT (0) replaced by BINFLOAT 1.5
    const pkl = stateDictPickle([f32('w', '0', 6, 0, [3], [1])]);
    const at = findSubarray(pkl, cat(op.binpersid, op.int(0)));
    expect(at).toBeGreaterThan(0);
    const binfloat = new Uint8Array(9);
    binfloat[0] = 0x47;
    new DataView(binfloat.buffer).setFloat64(1, 1.5, false);
    const patched = cat(pkl.subarray(0, at + 1), binfloat, pkl.subarray(at + 6));
    expect(() => decode(torchZip(patched, { '0': storageBytes('f32', [0, 1, 2, 3, 4, 5]) }))).toThrow(
      /^hostile\.pth: .*storage offset 1\.5 is not a whole number ≥ 0/,
    );
  });

  it('an unknown opcode, named with its byte', () => {
    const pkl = cat(op.proto, [0x01], op.stop);
    expect(() => decode(torchZip(pkl, {}))).toThrow(
      'hostile.pth (data.pkl): pickle at byte 2: opcode 0x01 is not read by this unpickler',
    );
  });

  it('an object whose state refers to itself', () => {
    // l = []; l.append(l); then BUILD a global with l as its state
    const pkl = cat(
      op.proto,
      op.global('builtins', 'object'),
      op.emptyList,
      op.dup,
      op.append,
      op.build,
      op.stop,
    );
    expect(() => decode(torchZip(pkl, {}))).toThrow(
      'hostile.pth: cannot restore builtins.object from a list (only state dicts are read)',
    );
  });

  it('a deflated entry that inflates past its declared size (a zip bomb) stops at that size', () => {
    const bomb = zipOf([
      { name: 'archive/data.pkl', data: new Uint8Array(8 << 20), method: 8, declaredSize: 1000 },
    ]);
    expect(bomb.length).toBeLessThan(64 << 10);
    expect(() => decode(bomb)).toThrow(
      'hostile.pth: entry archive/data.pkl: inflates past the 1000 bytes its directory declares (damaged, or a zip bomb)',
    );
  });

  it('each fixture cut at every length, or with a byte overwritten anywhere: an Error naming the file', () => {
    for (const f of ['tiny-conv-bn.pth', 'tiny-conv-bn-legacy.pth']) {
      const bytes = new Uint8Array(readFileSync(join(FIXTURES, f)));
      const unnamed: string[] = [];
      const attempt = (b: Uint8Array, what: string) => {
        try {
          decode(b, 'cut.pth');
        } catch (e) {
          if (!(e instanceof Error) || !/^cut\.pth[: ]/.test(e.message))
            unnamed.push(`${what}: ${String(e)}`);
          return;
        }
        if (b.length < bytes.length) unnamed.push(`${what}: read without an error`);
      };
      for (let n = 0; n < bytes.length; n++) attempt(bytes.subarray(0, n), `${f} cut at ${n}`);
      for (let n = 0; n < bytes.length; n++)
        for (const v of [0x00, 0x7f, 0x80, 0xff]) {
          const b = bytes.slice();
          b[n] = v;
          attempt(b, `${f} byte ${n} = ${v}`);
        }
      expect(unnamed).toEqual([]);
    }
  }, 120_000);

  it('what an unguarded reader loops on or fills memory with ends at once with an error (child process)', () => {
    const names = Object.keys(HOSTILE_CASES);
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(HERE, 'torch-file-hostile-child.ts'), ...names],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    const outcomes = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { name: string; outcome: string; ms: number });
    expect(
      outcomes.map((o) => o.name),
      `stderr: ${r.stderr}`,
    ).toEqual(names);
    const byName = Object.fromEntries(outcomes.map((o) => [o.name, o.outcome]));
    expect(byName['negative string length']).toMatch(
      /^error: hostile\.pth: pickle at byte 7: a length of -5 bytes/,
    );
    expect(byName['a 4 MiB integer']).toMatch(
      /^error: hostile\.pth: pickle at byte 7: an integer of 4194304 bytes .*at most 64/,
    );
    expect(byName['a zero-stride tensor of 2^26 elements']).toBe(
      'error: hostile.pth: tensor "w": 67108864 elements from a storage of 1: repeating a storage (zero strides) past 16777216 elements is not read',
    );
  }, 70_000);
});

describe('a legacy-format training checkpoint (torch 1.13, fixtures/tiny-checkpoint-legacy.pth)', () => {
  it("reads its state dict although the optimizer's momentum buffers are storages of their own", () => {
    const sd = readTorchStateDict(join(FIXTURES, 'tiny-checkpoint-legacy.pth'));
    expect(sd.format).toBe('legacy');
    expect(sd.skipped).toEqual(['optimizer', 'epoch']);
    expect([...sd.tensors.keys()]).toEqual(['weight', 'bias']);
    // one SGD step (lr 0.1, gradient 1) from weight [0.5, -1.5], bias [0.25, 2]
    const w = Array.from(sd.tensors.get('weight')!.data as Float32Array);
    const b = Array.from(sd.tensors.get('bias')!.data as Float32Array);
    expect(sd.tensors.get('weight')!.shape).toEqual([2, 1, 1, 1]);
    [0.4, -1.6].forEach((v, i) => expect(w[i]).toBeCloseTo(v, 6));
    [0.15, 1.9].forEach((v, i) => expect(b[i]).toBeCloseTo(v, 6));
  });
});

function findSubarray(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
