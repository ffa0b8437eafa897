/**
 * Import on a full disk, through the API: ENOSPC while the dataset's index is written (injected at
 * the engine's durable-write seam) refuses the import naming the folder, leaves no dataset row or
 * folder, loses nothing recorded before, and the same import works once space is back.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setWriteFaultForTests } from '../../src-main/engine/disk-write';
import { StudioService } from '../../src-main/jobs/studio-service';
import { cocoDataset, tempHome, writePng } from './fixtures';
import { serviceCalls } from './service-calls';

let home: ReturnType<typeof tempHome>;
let service: StudioService;
const { call, refusal } = serviceCalls(() => service);

beforeAll(() => {
  home = tempHome('selfemd-import-diskfull-');
  service = StudioService.open({ home: home.dir, transport: 'browser', version: 'test' });
});
afterEach(() => {
  setWriteFaultForTests(null);
});
afterAll(async () => {
  await service.close();
  home.cleanup();
});

const errno = (code: string, syscall: string, p: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: ${syscall} '${p}'`), { code, syscall, path: p });

describe('import on a full disk', () => {
  it('refuses naming the folder, records nothing, loses nothing, and works once space is back', async () => {
    const photos = path.join(home.dir, 'photos');
    await writePng(path.join(photos, 'a.png'), 20, 16, 1);
    await writePng(path.join(photos, 'b.png'), 20, 16, 2);
    const coco = await cocoDataset(path.join(home.dir, 'coco'));
    const kept = await call('datasets.import', { path: photos, name: 'kept' });
    const before = await call('datasets.list', {});
    const foldersBefore = readdirSync(path.join(home.dir, 'datasets')).sort();

    let attempts = 0;
    setWriteFaultForTests((file) => {
      attempts++;
      return errno('ENOSPC', 'write', file);
    });
    for (const source of [photos, coco]) {
      const r = await refusal('datasets.import', { path: source });
      expect(r.code).toBe('failed');
      expect(r.message).toContain(
        `could not import ${source}: the disk is full in ${path.join(home.dir, 'datasets')}`,
      );
      expect(r.message).not.toMatch(/ENOSPC/);
      expect(r.hint).toMatch(/Free some space/);
    }
    expect(attempts).toBe(2);
    expect(await call('datasets.list', {})).toEqual(before);
    expect(readdirSync(path.join(home.dir, 'datasets')).sort()).toEqual(foldersBefore);

    setWriteFaultForTests(null);
    const again = await call('datasets.import', { path: coco });
    expect(again.kind).toBe('coco');
    expect(existsSync(path.join(home.dir, 'datasets', String(again.id), 'index.json'))).toBe(true);
    expect(existsSync(path.join(home.dir, 'datasets', String(again.id), 'boxes.json'))).toBe(true);
    expect((await call('datasets.image', { id: again.id, index: 0 })).boxesKnown).toBe(true);
    expect((await call('datasets.image', { id: kept.id, index: 1 })).name).toBe('b.png');
    expect((await call('datasets.list', {})).length).toBe(before.length + 1);
  });
});
