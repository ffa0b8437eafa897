/**
 * A kill mid-import leaves its staging folder (and a half-written temporary file); a deletion cut
 * short leaves a folder no dataset row names. The next studio start removes those, and nothing of a
 * complete dataset or of a process still alive.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearImportLeftovers } from '../../src-main/jobs/service/import-leftovers';
import { StudioService } from '../../src-main/jobs/studio-service';
import { cocoDataset, imageFolder, tempHome } from './fixtures';
import { serviceCalls } from './service-calls';

const child = path.join(path.dirname(new URL(import.meta.url).pathname), 'kill-mid-import.ts');

/** Every file under `dir` with its sha256. */
function contents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, f);
    if (fs.statSync(p).isFile()) out[f] = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
  }
  return out;
}

describe('leftovers of killed imports', () => {
  let home: ReturnType<typeof tempHome>;
  let service: StudioService | undefined;
  const { call } = serviceCalls(() => service!);
  const open = () =>
    (service = StudioService.open({
      home: home.dir,
      transport: 'browser',
      version: 'test',
      seedDemos: false,
    }));
  beforeEach(() => (home = tempHome('selfemd-leftovers-')));
  afterEach(async () => {
    await service?.close();
    home.cleanup();
  });

  it('are removed at start after a kill -9 mid-import; complete datasets are untouched', async () => {
    const datasets = path.join(home.dir, 'datasets');
    open();
    const photos = await imageFolder(home.dir);
    const coco = await cocoDataset(home.dir);
    const kept = await call('datasets.import', { path: photos, name: 'kept' });
    const listed = await call('datasets.list', {});
    const keptFiles = contents(path.join(datasets, String(kept.id)));
    await service!.close();
    service = undefined;

    const { pid, signal } = await new Promise<{ pid: number; signal: string | null }>((resolve) => {
      const p = execFile(process.execPath, ['--import', 'tsx', child, home.dir, coco], (e) =>
        resolve({ pid: p.pid!, signal: (e as { signal?: string } | null)?.signal ?? null }),
      );
    });
    expect(signal).toBe('SIGKILL');
    const staging = path.join(datasets, `.importing-${pid}-1`);
    expect(fs.readdirSync(staging).sort()).toEqual([`boxes.json.tmp-${pid}`, 'index.json']);
    // A deletion cut short (row gone, folder not), and a write of the kept dataset cut short.
    fs.mkdirSync(path.join(datasets, '9999'));
    fs.writeFileSync(path.join(datasets, '9999', 'index.json'), '{}');
    fs.writeFileSync(path.join(datasets, String(kept.id), `boxes.json.tmp-${pid}`), 'half');
    // This process's own staging folder: an import that may be running now.
    const live = path.join(datasets, `.importing-${process.pid}-77`);
    fs.mkdirSync(live);

    open();
    expect(fs.existsSync(staging)).toBe(false);
    expect(fs.existsSync(path.join(datasets, '9999'))).toBe(false);
    expect(contents(path.join(datasets, String(kept.id)))).toEqual(keptFiles);
    expect(fs.existsSync(live)).toBe(true);
    expect(await call('datasets.list', {})).toEqual(listed);
    expect((await call('datasets.image', { id: kept.id, index: 0 })).name).toBeTruthy();
    // The import the kill cut short works now.
    const again = await call('datasets.import', { path: coco });
    expect(again.annotationCount).toBeGreaterThan(0);
  }, 60_000);

  it('keeps the staging folder of another live process', () => {
    const datasets = path.join(home.dir, 'datasets');
    fs.mkdirSync(path.join(datasets, '.importing-424242-1'), { recursive: true });
    fs.mkdirSync(path.join(datasets, '.importing-424243-1'));
    const r = clearImportLeftovers(
      home.dir,
      () => true,
      (pid) => pid === 424242,
    );
    expect(r.kept).toEqual([path.join(datasets, '.importing-424242-1')]);
    expect(r.removed).toEqual([path.join(datasets, '.importing-424243-1')]);
  });
});
