/**
 * The Electron bundles, checked without an Electron binary: the sandboxed preload needs nothing but
 * `electron`; main and the engine worker load only Node built-ins and the externalised native / TF.js
 * packages; the bundled engine worker really runs a job (here under plain Node, which speaks the same
 * protocol as utilityProcess); and the packaging config is valid for electron-builder.
 */
import { execFileSync, fork } from 'node:child_process';
import { builtinModules, createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRETRAIN_CONFIG } from '../../shared/config/pretrain';
import type { WorkerMessage } from '../../src-main/jobs/protocol';

const repo = path.resolve(__dirname, '../..');
const out = path.join(repo, 'dist', 'app');

function requires(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...new Set([...text.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!))].sort();
}

const builtin = (m: string) => m.startsWith('node:') || builtinModules.includes(m);

beforeAll(() => {
  execFileSync(process.execPath, [path.join(repo, 'scripts', 'build-app.mjs'), '--no-renderer'], {
    cwd: repo,
    stdio: 'pipe',
  });
}, 120_000);

describe('Electron bundles', () => {
  it('the sandboxed preload requires nothing but electron', () => {
    expect(requires(path.join(out, 'preload.cjs'))).toEqual(['electron']);
    const text = readFileSync(path.join(out, 'preload.cjs'), 'utf8');
    expect(text).toContain('exposeInMainWorld');
    // The page gets the transport, never ipcRenderer itself.
    expect(text).not.toMatch(/exposeInMainWorld\([^)]*ipcRenderer\s*[,)]/);
  });

  it('main and the engine worker load only built-ins and the external packages', () => {
    const allowed = (m: string) =>
      builtin(m) || ['electron', 'better-sqlite3', 'sharp', 'ws'].includes(m) || m.startsWith('@tensorflow/');
    const main = requires(path.join(out, 'main.cjs'));
    expect(main.filter((m) => !allowed(m))).toEqual([]);
    expect(main).toContain('electron');
    expect(main).toContain('better-sqlite3');
    const worker = requires(path.join(out, 'engine-worker.cjs'));
    expect(worker.filter((m) => !allowed(m))).toEqual([]);
    expect(worker).not.toContain('electron');
    expect(worker).not.toContain('better-sqlite3');
    // Each external resolves from the repository, as it will from the packaged app's node_modules.
    const req = createRequire(path.join(out, 'main.cjs'));
    for (const m of [...main, ...worker].filter((x) => !builtin(x) && x !== 'electron'))
      expect(() => req.resolve(m)).not.toThrow();
  });

  it('the bundled engine worker runs a job and reports its failure in words', async () => {
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'selfemd-bundle-'));
    try {
      const child = fork(path.join(out, 'engine-worker.cjs'), [], {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      const messages: WorkerMessage[] = [];
      const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.on('message', (m) => messages.push(m as WorkerMessage));
      child.send({
        type: 'start',
        job: {
          kind: 'export',
          config: { ...DEFAULT_PRETRAIN_CONFIG, backend: 'cpu' },
          runDir,
          format: 'safetensors',
          outPath: path.join(runDir, 'x.safetensors'),
          metadata: {},
        },
      });
      expect(await exit).toBe(1);
      const backend = messages.find((m) => m.type === 'backend');
      expect(backend && backend.type === 'backend' && backend.info.choice).toBe('cpu');
      const failed = messages.find((m) => m.type === 'failed');
      expect(failed && failed.type === 'failed' && failed.message).toMatch(/checkpoint/i);
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  it('electron-builder accepts the packaging config: AppImage + deb, dmg, nsis, natives unpacked', async () => {
    const req = createRequire(path.join(repo, 'package.json'));
    interface BuilderConfig {
      linux: { target: string[] };
      mac: { target: string[] };
      win: { target: string[] };
      asarUnpack: string[];
      npmRebuild: boolean;
      extraMetadata: { main: string };
    }
    const { getConfig, validateConfiguration } = req('app-builder-lib/out/util/config/config') as {
      getConfig(dir: string, file: string, extra: null): Promise<BuilderConfig>;
      validateConfiguration(c: unknown, logger: unknown): Promise<void>;
    };
    const { DebugLogger } = req('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
    const config = await getConfig(repo, path.join(repo, 'electron-builder.yml'), null);
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.mac.target).toEqual(['dmg']);
    expect(config.win.target).toEqual(['nsis']);
    expect(config.asarUnpack).toEqual(
      expect.arrayContaining(['**/*.node', 'node_modules/better-sqlite3/**', 'node_modules/sharp/**']),
    );
    expect(config.npmRebuild).toBe(true);
    expect(config.extraMetadata.main).toBe('dist/app/main.cjs');
    expect(JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')).main).toBe('dist/app/main.cjs');
  });
});
