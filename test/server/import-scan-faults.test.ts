/**
 * Import while the folder changes under the scan, through the API: a sub-folder that vanishes or turns unreadable during the scan is reported and left out,
 * never a raw errno (injected at the scan's seam: as root, chmod cannot make a folder unreadable).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setScanFaultForTests } from '../../src-main/engine/data/image-folder';
import { StudioService } from '../../src-main/jobs/studio-service';
import { tempHome, writePng } from './fixtures';
import { serviceCalls } from './service-calls';

let home: ReturnType<typeof tempHome>;
let service: StudioService;
const { call, refusal } = serviceCalls(() => service);

beforeAll(() => {
  home = tempHome('selfemd-import-scan-');
  service = StudioService.open({ home: home.dir, transport: 'browser', version: 'test' });
});
afterEach(() => {
  setScanFaultForTests(null);
});
afterAll(async () => {
  await service.close();
  home.cleanup();
});

const errno = (code: string, syscall: string, p: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: ${syscall} '${p}'`), { code, syscall, path: p });

describe('a folder that vanishes or turns unreadable during the scan', () => {
  it('is reported and left out; the rest is imported; no raw errno', async () => {
    const root = path.join(home.dir, 'live');
    await writePng(path.join(root, 'top.png'), 20, 16, 1);
    await writePng(path.join(root, 'gone', 'x.png'), 20, 16, 2);
    await writePng(path.join(root, 'locked', 'deep', 'y.png'), 20, 16, 3);
    await writePng(path.join(root, 'fine', 'z.png'), 20, 16, 4);
    setScanFaultForTests((dir) =>
      dir.endsWith(`${path.sep}gone`)
        ? errno('ENOENT', 'scandir', dir)
        : dir.endsWith(`${path.sep}locked`)
          ? errno('EACCES', 'scandir', dir)
          : undefined,
    );
    const record = await call('datasets.import', { path: root });
    expect(record.imageCount).toBe(2);
    expect(record.importReport.skipped).toEqual([
      { file: 'gone/', reason: 'folder vanished while it was being scanned; left out' },
      { file: 'locked/', reason: 'folder cannot be read (permission denied); left out' },
    ]);
  });

  it('the chosen folder itself unreadable: one line naming it, nothing recorded', async () => {
    const root = path.join(home.dir, 'shut');
    mkdirSync(root, { recursive: true });
    await writePng(path.join(root, 'a.png'), 20, 16, 1);
    const before = await call('datasets.list', {});
    setScanFaultForTests((dir) => (dir === root ? errno('EACCES', 'scandir', dir) : undefined));
    const r = await refusal('datasets.import', { path: root });
    expect(r.message).toBe(`Image folder ${root}: folder cannot be read (permission denied)`);
    expect(await call('datasets.list', {})).toEqual(before);
  });

  it('a system tree (/proc/self, /) is refused at once with a clear message, never walked', async () => {
    const before = await call('datasets.list', {});
    const t0 = performance.now();
    if (process.platform === 'linux')
      expect((await refusal('datasets.import', { path: '/proc/self' })).message).toBe(
        'Image folder /proc/self: is inside /proc, a kernel pseudo-filesystem that holds no images',
      );
    // The fault suite's fuzzer found '/' walked for minutes (no answer within 15 s).
    expect((await refusal('datasets.import', { path: '/' })).message).toBe(
      'Image folder /: is the root of the file system; choose the folder that holds the images',
    );
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(await call('datasets.list', {})).toEqual(before);
  });
});
