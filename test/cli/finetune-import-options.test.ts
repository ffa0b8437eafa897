/**
 * `selfemd finetune --train PATH` reads a dataset the way `selfemd import PATH --images DIR` (or the
 * studio) recorded it: its image folder and split, unless the config names them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withRecordedImportOptions } from '../../src-main/cli/commands/finetune';
import { importFromPath } from '../../src-main/jobs/service/dataset-import';
import { openStore } from '../../src-main/store';
import { tempHome, writePng } from '../server/fixtures';

const home = tempHome('selfemd-ft-import-');
afterAll(() => home.cleanup());

describe('selfemd finetune and recorded import options', () => {
  it('takes the image folder a COCO file was imported with', async () => {
    const root = path.join(home.dir, 'data');
    await writePng(path.join(root, 'pictures', 'a.png'), 20, 16, 1);
    const json = path.join(root, 'labels', 'gt.json');
    mkdirSync(path.dirname(json), { recursive: true });
    writeFileSync(
      json,
      JSON.stringify({
        images: [{ id: 1, file_name: 'a.png' }],
        annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [1, 1, 4, 4] }],
        categories: [{ id: 1, name: 'thing' }],
      }),
    );
    const store = openStore(path.join(home.dir, 'studio.db'));
    try {
      await importFromPath(
        home.dir,
        store,
        { path: json, imageDir: path.join(root, 'pictures') },
        () => undefined,
      );
      const overrides = { optim: { epochs: 1 }, data: { train: json, val: 'demo' } };
      expect(withRecordedImportOptions(home.dir, store, overrides).data).toEqual({
        train: json,
        val: 'demo',
        trainImages: path.join(root, 'pictures'),
      });
      // named in the config: kept
      const named = { data: { train: json, val: json, trainImages: '/elsewhere', valImages: '/also' } };
      expect(withRecordedImportOptions(home.dir, store, named).data).toEqual(named.data);
      // a path never imported: nothing added
      const other = { data: { train: path.join(root, 'other.json') } };
      expect(withRecordedImportOptions(home.dir, store, other).data).toEqual(other.data);
    } finally {
      store.close();
    }
  });
});
