/**
 * The desktop app under Playwright's Electron driver, where an Electron binary exists (skipped, and
 * said so, where it does not): the window loads the renderer from app://, the page sees the studio API
 * and no Node or ipcRenderer, the IPC handler refuses malformed calls, navigation and pop-ups are
 * locked, the CSP blocks inline scripts, and training-free API calls work end to end.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDir, tempDir } from '../temp-dir';

const repo = path.resolve(__dirname, '../..');

function electronBinary(): string | null {
  if (process.env.ELECTRON_BINARY && existsSync(process.env.ELECTRON_BINARY))
    return process.env.ELECTRON_BINARY;
  const pkg = path.join(repo, 'node_modules', 'electron');
  const pathFile = path.join(pkg, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const bin = path.join(pkg, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(bin) ? bin : null;
}

const binary = electronBinary();
if (!binary)
  console.log(
    'Electron tests skipped: no Electron binary here (node_modules/electron/dist is missing and cannot be downloaded).',
  );

describe.skipIf(!binary)('the Electron app', () => {
  let app: ElectronApplication;
  let page: Page;
  let home: string;

  beforeAll(async () => {
    execFileSync(process.execPath, [path.join(repo, 'scripts', 'build-app.mjs')], {
      cwd: repo,
      stdio: 'pipe',
    });
    execFileSync(
      process.execPath,
      ['-e', "import('./scripts/electron-native.mjs').then((m) => m.ensureElectronSqlite())"],
      { cwd: repo, stdio: 'pipe' },
    );
    home = tempDir('selfemd-electron-');
    app = await _electron.launch({
      executablePath: binary!,
      args: [path.join(repo, 'dist', 'app', 'main.cjs')],
      env: { ...process.env, SELFEMD_HOME: home, ELECTRON_ENABLE_LOGGING: '1' },
    });
    page = await app.firstWindow();
    await page.waitForSelector('[data-testid="nav-datasets"]');
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    if (home) removeTempDir(home);
  });

  it('loads the renderer from app:// with the studio API and nothing of Node', async () => {
    expect(page.url()).toMatch(/^app:\/\/studio\//);
    const surface = await page.evaluate(() => ({
      bridge: Object.keys((window as unknown as { selfemd: object }).selfemd).sort(),
      transport: Object.keys(
        (window as unknown as { selfemd: { transport: object } }).selfemd.transport,
      ).sort(),
      require: typeof (window as unknown as { require?: unknown }).require,
      process: typeof (window as unknown as { process?: unknown }).process,
    }));
    expect(surface).toEqual({
      bridge: ['pathForFile', 'transport'],
      transport: ['call', 'kind', 'subscribe'],
      require: 'undefined',
      process: 'undefined',
    });
    mkdirSync(path.join(repo, 'test-artifacts', 'e2e'), { recursive: true });
    await page.screenshot({ path: path.join(repo, 'test-artifacts', 'e2e', 'electron-window.png') });
  });

  it('answers the API over IPC and rejects malformed calls', async () => {
    const results = await page.evaluate(async () => {
      const t = (
        window as unknown as {
          selfemd: {
            transport: {
              call(
                m: unknown,
                a: unknown,
              ): Promise<{ ok: boolean; value?: unknown; error?: { code: string } }>;
            };
          };
        }
      ).selfemd.transport;
      return {
        list: await t.call('datasets.list', {}),
        badArgs: await t.call('runs.get', { id: 5 }),
        unknown: await t.call('runs.drop', {}),
        notObject: await t.call('datasets.get', 'id=1'),
      };
    });
    expect(results.list.ok).toBe(true);
    expect((results.list.value as unknown[]).length).toBe(2);
    for (const r of [results.badArgs, results.unknown, results.notObject]) {
      expect(r.ok).toBe(false);
      expect(r.error!.code).toBe('invalid');
    }
  });

  it('locks navigation, pop-ups and inline scripts', async () => {
    const before = page.url();
    await page.evaluate(() => {
      window.location.href = 'https://example.com/';
    });
    await page.waitForTimeout(500);
    expect(page.url()).toBe(before);
    expect(await page.evaluate(() => window.open('https://example.com/') === null)).toBe(true);
    expect(app.windows()).toHaveLength(1);
    const ran = await page.evaluate(async () => {
      const s = document.createElement('script');
      s.textContent = 'window.__inline = 1';
      document.body.appendChild(s);
      await new Promise((r) => setTimeout(r, 100));
      return (window as unknown as { __inline?: number }).__inline === 1;
    });
    expect(ran).toBe(false);
  });

  it('pretrains in a utilityProcess running the bundled engine worker (prefetch on)', async () => {
    // The installer's main job: the bundled worker and its loader worker, started by utilityProcess.
    const run = await page.evaluate(async () => {
      type Reply = { ok: boolean; value?: unknown; error?: { message: string } };
      const t = (
        window as unknown as { selfemd: { transport: { call(m: string, a: unknown): Promise<Reply> } } }
      ).selfemd.transport;
      const datasets = (await t.call('datasets.list', {})).value as {
        id: number;
        kind: string;
        split?: string;
      }[];
      const demo = datasets.find((d) => d.kind === 'demo' && d.split === 'train')!;
      const started = await t.call('runs.start', {
        method: 'byol',
        datasetId: demo.id,
        name: 'electron smoke',
        config: {
          backend: 'wasm',
          backbone: { baseWidth: 4 },
          data: { imageSize: 64, demoImages: 4 },
          optim: { epochs: 1, batchSize: 4 },
          emd: { scaleView: false },
        },
      });
      if (!started.ok) return { error: started.error?.message };
      const id = (started.value as { id: string }).id;
      for (let i = 0; i < 600; i++) {
        const got = (await t.call('runs.get', { id })).value as {
          run: { status: string; error: string | null };
        };
        if (!['pending', 'queued', 'running'].includes(got.run.status))
          return { status: got.run.status, error: got.run.error };
        await new Promise((r) => setTimeout(r, 500));
      }
      return { status: 'timeout' };
    });
    expect(run).toEqual({ status: 'completed', error: null });
  }, 360_000);
});
