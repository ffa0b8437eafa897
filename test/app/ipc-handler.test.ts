/**
 * The Electron app's IPC handler against a real StudioService: only the studio's own top-level page
 * in the studio's window is answered, only known methods, only well-formed arguments; a refused
 * call changes nothing. (The handler is plain code; Electron only delivers the event.)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiResponse } from '../../shared/api/errors';
import { StudioService } from '../../src-main/jobs/studio-service';
import { rendererFile } from '../../src-main/app/renderer-file';
import { createIpcHandler, isTrustedSender, type SenderInfo } from '../../src-main/app/ipc-handler';
import { tempHome } from '../server/fixtures';

const ORIGIN = 'app://studio';
const window = { id: 1 };
let home: ReturnType<typeof tempHome>;
let service: StudioService;
let handler: ReturnType<typeof createIpcHandler>;

const fromPage = (url = `${ORIGIN}/index.html`, over: Partial<SenderInfo> = {}): SenderInfo => ({
  sender: window,
  senderFrame: { url, parent: null },
  ...over,
});

type Failure = { ok: false; error: { code: string; message: string; issues?: { path: string }[] } };
const failure = (r: ApiResponse<unknown>): Failure['error'] => {
  expect(r.ok).toBe(false);
  return (r as Failure).error;
};

beforeAll(() => {
  home = tempHome('selfemd-ipc-');
  service = StudioService.open({ home: home.dir, transport: 'electron', version: 'test', seedDemos: false });
  handler = createIpcHandler(service, (e) => isTrustedSender(e, ORIGIN, window));
});
afterAll(async () => {
  await service.close();
  home.cleanup();
});

describe('IPC handler', () => {
  it('answers the studio page', async () => {
    const r = await handler(fromPage(), 'datasets.addDemo', { count: 2, split: 'val', name: 'tiny' });
    expect(r.ok).toBe(true);
    const list = await handler(fromPage(`${ORIGIN}/index.html#/runs`), 'datasets.list', {});
    expect(list.ok && (list.value as { name: string }[]).map((d) => d.name)).toEqual(['tiny']);
  });

  it('refuses other pages, subframes and other windows', async () => {
    const before = service.store.listDatasets().length;
    const attempts: SenderInfo[] = [
      fromPage('https://evil.example/index.html'),
      fromPage('file:///etc/passwd'),
      fromPage('app://other/index.html'),
      fromPage('app://studio.evil.example/index.html'),
      fromPage('not a url'),
      fromPage(`${ORIGIN}/index.html`, { senderFrame: { url: `${ORIGIN}/index.html`, parent: {} } }),
      fromPage(`${ORIGIN}/index.html`, { senderFrame: null }),
      fromPage(`${ORIGIN}/index.html`, { sender: { id: 2 } }),
    ];
    for (const event of attempts) {
      const e = failure(await handler(event, 'datasets.addDemo', { count: 2 }));
      expect(e.code).toBe('unauthorized');
    }
    expect(service.store.listDatasets()).toHaveLength(before);
    // No window (closed): nothing is trusted.
    const orphan = createIpcHandler(service, (e) => isTrustedSender(e, ORIGIN, null));
    expect(failure(await orphan(fromPage(), 'datasets.list', {})).code).toBe('unauthorized');
  });

  it('rejects malformed calls: unknown methods, wrong argument shapes, extra parameters', async () => {
    const before = service.store.listDatasets().length;
    const cases: [unknown, unknown, string, string?][] = [
      [42, {}, 'invalid'],
      ['constructor', {}, 'invalid'],
      ['datasets.drop', {}, 'invalid'],
      ['datasets.addDemo', { count: 'many' }, 'invalid', 'args.count'],
      ['datasets.addDemo', { count: 1 }, 'invalid', 'args.count'],
      ['datasets.addDemo', { count: 3, split: 'test' }, 'invalid', 'args.split'],
      ['datasets.addDemo', { count: 3, sql: 'DROP TABLE runs' }, 'invalid', 'args.sql'],
      ['datasets.addDemo', 'count=3', 'invalid', 'args'],
      ['datasets.addDemo', null, 'invalid', 'args'],
      ['runs.start', { method: 'self-emd', datasetId: 1, config: [] }, 'invalid', 'args.config'],
      ['runs.start', { method: 'moco', datasetId: 1, config: {} }, 'invalid', 'args.method'],
      ['metrics.get', { runId: '../../etc', maxPoints: 1 }, 'invalid', 'args.runId'],
      ['system.listDir', { path: 5 }, 'invalid', 'args.path'],
    ];
    for (const [method, args, code, issuePath] of cases) {
      const e = failure(await handler(fromPage(), method, args));
      expect(e.code, JSON.stringify([method, args])).toBe(code);
      if (issuePath)
        expect(
          e.issues?.map((i) => i.path),
          JSON.stringify([method, args]),
        ).toContain(issuePath);
    }
    expect(failure(await handler(fromPage(), 'datasets.list', {}, 'extra')).code).toBe('invalid');
    expect(service.store.listDatasets()).toHaveLength(before);
  });

  it('serves renderer files only from inside the renderer folder', () => {
    const root = path.join(home.dir, 'renderer');
    mkdirSync(path.join(root, 'assets'), { recursive: true });
    writeFileSync(path.join(root, 'index.html'), 'x');
    writeFileSync(path.join(root, 'assets', 'a.js'), 'y');
    expect(rendererFile(root, '/assets/a.js')).toBe(path.join(root, 'assets', 'a.js'));
    expect(rendererFile(root, '/runs/123')).toBe(path.join(root, 'index.html'));
    expect(rendererFile(root, '/../studio.db')).toBe(path.join(root, 'index.html'));
    expect(rendererFile(root, '/%2e%2e/studio.db')).toBe(path.join(root, 'index.html'));
    expect(rendererFile(root, '/%E0%A4%A')).toBeNull();
  });
});
