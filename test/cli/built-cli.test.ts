/**
 * The `selfemd` users run is the built one: dist/app/cli.mjs answers `info` and trains a one-step
 * pretraining (its engine worker and prefetch thread the built ones too), and bin/selfemd.mjs builds
 * dist/app only when it is missing or older than a source, once when started several times together.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import smoke from '../../scripts/smoke-pretrain.json';
import { appDir, ensureAppBuilt, repo } from '../app/built-app';
import { tempDir } from '../temp-dir';

let home: string;

/** Asynchronous on purpose: a blocking spawn would starve the test runner's own heartbeat. */
function node(args: string[], cwd = repo): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd, env: { ...process.env, SELFEMD_HOME: home }, encoding: 'utf8', timeout: 120_000 },
      (error, out, err) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, out, err }),
    );
  });
}

beforeAll(() => {
  home = tempDir('selfemd-built-cli-');
  ensureAppBuilt();
}, 120_000);

describe('the built selfemd', () => {
  const cli = path.join(appDir, 'cli.mjs');

  it('info names the backend that runs', async () => {
    const r = await node([cli, 'info', '--backend', 'wasm', '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.out) as { backend: { choice: string; version: string }; home: string };
    expect(info.backend).toMatchObject({ choice: 'wasm', version: '4.22.0' });
    expect(info.home).toBe(home);
  });

  it('trains a one-step pretraining in the built engine worker, prefetching its batch', async () => {
    const r = await node([cli, ...smoke.args]);
    expect(r.err).not.toMatch(/Augmentation worker|Cannot find module/);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out) as {
      run: { status: string; step: number; totalSteps: number; backend: { name: string } };
      firstLoss: number;
    };
    expect(summary.run).toMatchObject({ status: 'completed', step: 1, totalSteps: 1 });
    expect(summary.run.backend.name).toBe('wasm');
    expect(Number.isFinite(summary.firstLoss)).toBe(true);
  });
});

describe('bin/selfemd.mjs', () => {
  // A copy of what the build reads, so rebuilding it cannot disturb the repository's dist/ in use.
  let copy: string;
  const bin = () => path.join(copy, 'bin', 'selfemd.mjs');
  const built = (r: { err: string }) => (r.err.match(/building the app \(([^)]*)\)/) ?? [])[1];

  beforeAll(() => {
    copy = tempDir('selfemd-build-copy-');
    for (const part of ['bin', 'scripts', 'src-main', 'shared', 'assets', 'package.json'])
      fs.cpSync(path.join(repo, part), path.join(copy, part), { recursive: true, preserveTimestamps: true });
    fs.symlinkSync(path.join(repo, 'node_modules'), path.join(copy, 'node_modules'));
  });

  it('builds once when started twice on a fresh checkout, then runs the build as it is', async () => {
    const first = await Promise.all([node([bin(), 'help'], copy), node([bin(), 'help'], copy)]);
    for (const r of first) {
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^selfemd — Self-EMD Studio, headless/);
    }
    expect(first.map(built).filter(Boolean)).toEqual(['dist/app has not been built']);
    expect(fs.existsSync(path.join(copy, 'dist', 'app', 'engine-worker.cjs'))).toBe(true);
    expect(fs.existsSync(path.join(copy, 'dist', 'app', 'loader-worker.mjs'))).toBe(true);

    const again = await node([bin(), 'help'], copy);
    expect(again.code).toBe(0);
    expect(built(again)).toBeUndefined();
  });

  it('rebuilds when a source is newer than the build', async () => {
    const source = path.join(copy, 'src-main', 'cli', 'args.ts');
    const now = new Date();
    fs.utimesSync(source, now, now);
    const r = await node([bin(), 'help'], copy);
    expect(r.code).toBe(0);
    expect(built(r)).toBe('src-main/cli/args.ts changed');
    expect(built(await node([bin(), 'help'], copy))).toBeUndefined();
  });
});
