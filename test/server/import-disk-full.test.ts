/**
 * The fault suite's import-on-a-full-disk scenario (bench/faults/import-disk-full), as `npm test` runs
 * it: ENOSPC while a dataset's index is written refuses the import naming the datasets folder and the
 * bytes needed, leaves no dataset row or folder (no staging folder either), loses nothing recorded
 * before, and the same import works once space is back. Injected at the engine's durable-write seam
 * everywhere; on a real full tmpfs too where one can be mounted (root).
 */
import { describe, expect, it } from 'vitest';
import { runImportDiskFull } from '../../bench/faults/import-disk-full';

describe('import on a full disk', () => {
  it('refuses naming the folder, records nothing, loses nothing, and works once space is back (injected ENOSPC)', async () => {
    const r = await runImportDiskFull({ mode: 'injected' });
    expect(r.mode).toBe('injected');
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.checks).toHaveLength(3);
    expect(r.imports).toBe(3);
  }, 30_000);

  it('does the same on a real full file system, where a tmpfs can be mounted', async () => {
    const r = await runImportDiskFull({ mode: 'auto' });
    if (r.mode === 'injected') return; // not root: the injected run above stands for it
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.checks).toHaveLength(3);
  }, 30_000);
});
