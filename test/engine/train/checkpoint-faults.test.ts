/**
 * Checkpoints on a disk that misbehaves: files damaged after they were written (truncated, one
 * flipped byte) are detected by their recorded checksums and a resume falls back to the previous
 * good checkpoint, keeping the damaged one aside; a write that meets a full disk leaves no half
 * folder, names the folder, and the previous checkpoint stays loadable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { DiskFullError, setWriteFaultForTests } from '../../../src-main/engine/disk-write';
import { writeSafetensors } from '../../../src-main/engine/export/safetensors';
import {
  DamagedCheckpointError,
  listCheckpoints,
  loadCheckpoint,
  resumeCheckpoint,
  saveCheckpoint,
} from '../../../src-main/engine/train/checkpoint';
import { tempDir } from '../../temp-dir';

beforeAll(async () => {
  await initBackend('cpu');
});
afterEach(() => setWriteFaultForTests(null));

/** Three checkpoints (steps 1..3) whose tensor `w` holds the step number. */
async function threeCheckpoints(): Promise<string> {
  const root = tempDir('ckpt-faults-');
  for (let step = 1; step <= 3; step++)
    await saveCheckpoint(root, step, new Map([['w', tf.fill([256], step)]]), { step, epoch: 0 });
  return root;
}

const flipByte = (file: string, at: number): void => {
  const b = fs.readFileSync(file);
  b[at] ^= 0x01;
  fs.writeFileSync(file, b);
};

describe('damaged checkpoints', () => {
  const damages: [string, (dir: string) => void][] = [
    ['tensors.bin truncated', (dir) => fs.truncateSync(path.join(dir, 'tensors.bin'), 1000)],
    ['one bit flipped in tensors.bin', (dir) => flipByte(path.join(dir, 'tensors.bin'), 517)],
    [
      'one bit flipped in a manifest number',
      (dir) => {
        // The step in the state: still valid JSON, only the checksum can tell.
        const file = path.join(dir, 'manifest.json');
        const text = fs.readFileSync(file, 'utf8');
        flipByte(file, text.indexOf('"step":3') + 7);
      },
    ],
  ];

  for (const [what, damage] of damages) {
    it(`detects ${what} and resumes from the previous good checkpoint, keeping the damaged one aside`, async () => {
      const root = await threeCheckpoints();
      const dir3 = listCheckpoints(root).at(-1)!.dir;
      damage(dir3);
      expect(() => loadCheckpoint(dir3)).toThrow(DamagedCheckpointError);
      expect(() => loadCheckpoint(dir3)).toThrow(`checkpoint ${dir3} is damaged`);

      const log: string[] = [];
      const loaded = resumeCheckpoint<{ step: number }>(root, 3, (m) => log.push(m));
      expect(loaded.state.step).toBe(2);
      expect(Array.from(loaded.tensors.get('w')!.data.slice(0, 2))).toEqual([2, 2]);
      expect(log[0]).toMatch(new RegExp(`checkpoint ${dir3} is damaged: .*; moved to ${dir3}\\.damaged$`));
      expect(log[1]).toBe('falling back to the checkpoint of step 2: the newer one(s) are damaged');
      // Kept, not deleted, and no longer listed.
      expect(fs.existsSync(`${dir3}.damaged/tensors.bin`)).toBe(true);
      expect(listCheckpoints(root).map((c) => c.step)).toEqual([1, 2]);

      // A later resume from the same record (the process died before checkpointing again) still works.
      const again: string[] = [];
      expect(resumeCheckpoint<{ step: number }>(root, 3, (m) => again.push(m)).state.step).toBe(2);
      expect(again[0]).toMatch(/step 3 was set aside as damaged earlier/);
    });
  }

  it('says so plainly when no checkpoint is usable', async () => {
    const root = await threeCheckpoints();
    for (const c of listCheckpoints(root)) flipByte(path.join(c.dir, 'tensors.bin'), 3);
    expect(() => resumeCheckpoint(root, 3)).toThrow(
      `cannot resume: no usable checkpoint in ${root} (damaged: step 3, 2, 1)`,
    );
    expect(fs.readdirSync(root).sort()).toEqual([
      'step-00000001.damaged',
      'step-00000002.damaged',
      'step-00000003.damaged',
    ]);
  });
});

describe('a full disk', () => {
  it('fails a checkpoint write with the folder named, leaves no half folder, keeps the previous one', async () => {
    const root = await threeCheckpoints();
    const before = fs.readdirSync(root).sort();
    setWriteFaultForTests((file) =>
      file.endsWith('tensors.bin')
        ? Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
        : undefined,
    );
    const write = saveCheckpoint(root, 4, new Map([['w', tf.fill([256], 4)]]), { step: 4, epoch: 0 });
    await expect(write).rejects.toThrow(DiskFullError);
    await expect(
      saveCheckpoint(root, 4, new Map([['w', tf.fill([256], 4)]]), { step: 4, epoch: 0 }),
    ).rejects.toThrow(
      new RegExp(
        `^the disk is full: could not write 1024 bytes in ${root}/step-00000004\\.tmp-\\d+ \\(\\d+ bytes free\\)`,
      ),
    );
    expect(fs.readdirSync(root).sort()).toEqual(before);
    expect(resumeCheckpoint<{ step: number }>(root, 3).state.step).toBe(3);

    // Space is back: the same write goes through.
    setWriteFaultForTests(null);
    await saveCheckpoint(root, 4, new Map([['w', tf.fill([256], 4)]]), { step: 4, epoch: 0 });
    expect(loadCheckpoint<{ step: number }>(listCheckpoints(root).at(-1)!.dir).state.step).toBe(4);
  });

  it('fails an export write the same way, leaving no truncated file', async () => {
    const dir = tempDir('export-full-');
    const out = path.join(dir, 'backbone.safetensors');
    setWriteFaultForTests(() => Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }));
    const tensor = { name: 'w', dtype: 'F32' as const, shape: [4], data: new Float32Array(4) };
    await expect(writeSafetensors(out, [tensor])).rejects.toThrow(`the disk is full: could not write`);
    await expect(writeSafetensors(out, [tensor])).rejects.toThrow(` in ${dir} (`);
    expect(fs.existsSync(out)).toBe(false);
    setWriteFaultForTests(null);
    await writeSafetensors(out, [tensor]);
    expect(fs.statSync(out).size).toBeGreaterThan(16);
  });
});
