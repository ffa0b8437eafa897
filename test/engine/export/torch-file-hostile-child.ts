/**
 * Run as a child process by torch-file-hostile.test.ts, with a timeout: hostile files that an
 * unguarded reader loops on or fills memory with, which would hang the test process itself. Each
 * case prints one JSON line (its error message, or what it returned) as soon as it ends, so the
 * parent sees which case did not.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeTorchStateDict } from '../../../src-main/engine/export/torch-file';
import { bytesSource } from '../../../src-main/engine/export/zip-entries';
import { cat, stateDictPickle, storageBytes, torchZip } from './torch-file-builders';

const le32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n, true);
  return b;
};

export const HOSTILE_CASES: Record<string, () => Uint8Array> = {
  // BINSTRING whose length is -5: reading it steps back onto the opcode itself.
  'negative string length': () => cat([0x80, 2, 0x54], le32(-5), [0x2e]),
  // LONG4 of 4 MiB: a number no state dict holds, decoded byte by byte into a growing bigint.
  'a 4 MiB integer': () => cat([0x80, 2, 0x8b], le32(4 << 20), new Uint8Array(4 << 20).fill(0x5a), [0x2e]),
  // One float repeated 2^26 times by zero strides: 268 MB of output from a 4-byte storage.
  'a zero-stride tensor of 2^26 elements': () =>
    torchZip(
      stateDictPickle([
        {
          name: 'w',
          storage: 'FloatStorage',
          key: '0',
          numel: 1,
          offset: 0,
          size: [8192, 8192],
          stride: [0, 0],
        },
      ]),
      { '0': storageBytes('f32', [1]) },
    ),
};

// Imported by the test for the case names; runs the cases only as the child process.
const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
for (const name of isMain ? process.argv.slice(2) : []) {
  const t0 = Date.now();
  let outcome: string;
  try {
    const sd = decodeTorchStateDict(bytesSource(HOSTILE_CASES[name]!()), 'hostile.pth');
    outcome = `read ${sd.tensors.size} tensor(s)`;
  } catch (e) {
    outcome = `error: ${(e as Error).message}`;
  }
  console.log(JSON.stringify({ name, outcome, ms: Date.now() - t0 }));
}
