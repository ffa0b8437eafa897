/**
 * The Clusters screen in a real browser against browser mode: fields refused as typed with the
 * field's own words, a cluster saved with its token (which no page ever shows again), the connection
 * test's checks in words against a socket that is not there and then against the local Slurm of
 * scripts/slurm-local.sh (where it can start), the cluster offered in the run forms, and removed.
 * Screenshots go to test-artifacts/e2e.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord, SlurmClusterSummary } from '../../shared/dto';
import { appDir, ensureAppBuilt } from '../app/built-app';
import { localSlurm } from '../jobs/slurm/local-slurm';
import { TINY_PRETRAIN } from '../jobs/tiny-run';
import { e2eBrowser, shot, startServer, type ServerProcess } from './harness';
import { endSession, openBrowserPage, screenshotFailures, showStudio } from './session';
import { tempDir } from '../temp-dir';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.ZTJlLXRva2Vu.e2e-SECRET-7781';
let tmp: string;
let shared: string;
let socket: string | null = null;
let server: ServerProcess;
let browser: BrowserContext;
let page: Page;

const tid = (id: string) => `[data-testid="${id}"]`;
const browserPath = e2eBrowser(path.basename(__filename));

beforeAll(async () => {
  if (!browserPath) return;
  tmp = tempDir('selfemd-e2e-clusters-');
  // jobs of the local Slurm run as nobody: the shared folder and the way to it are open to them
  chmodSync(tmp, 0o755);
  shared = path.join(tmp, 'shared');
  mkdirSync(shared, { mode: 0o777 });
  chmodSync(shared, 0o777);
  socket = await localSlurm('clusters.e2e.test.ts (the connection test passing against a local Slurm)');
  // the nodes run the built CLI
  if (socket) ensureAppBuilt();
  server = await startServer(path.join(tmp, 'home'));
  ({ browser, page } = await openBrowserPage(tmp));
  page.on('dialog', (d) => void d.accept());
  await showStudio(page, server);
}, 240_000);

screenshotFailures('clusters-', () => page);

afterAll(async () => {
  await endSession({ browser, server, tmp });
}, 60_000);

const text = async (id: string) => (await page.textContent(tid(id)))?.trim() ?? '';

describe.skipIf(!browserPath)('the Clusters screen', () => {
  it('refuses bad fields as they are typed, naming the problem, and saves nothing', async () => {
    await page.click(tid('nav-clusters'));
    await page.waitForSelector(tid('clusters-empty'));
    await page.fill(tid('cl-name'), 'Lab GPU');
    await page.fill(tid('cl-endpoint'), 'slurm.lab:6820');
    await page.fill(tid('cl-sharedFolder'), 'shared/runs');
    await page.click(tid('cl-user'));
    expect(await text('issue-name')).toBe(
      'must be lower-case letters, digits and - (a letter or digit first), got "Lab GPU"',
    );
    expect(await text('issue-endpoint')).toBe(
      'must be http(s)://host:port or unix:/path/to/slurmrestd.socket, got "slurm.lab:6820"',
    );
    await page.click(tid('cluster-save'));
    // every field counts once the user tries to save: user and node command are empty too
    expect(await text('cluster-problems')).toBe('5 problem(s) to fix');
    expect(await text('issue-nodeCommand')).toBe('must not be empty (a command)');
    await shot(page, '50-clusters-refused');
    expect(await server.call<SlurmClusterSummary[]>('clusters.list')).toEqual([]);
  });

  it('saves a cluster with its token, and the test says what failed', async () => {
    const gone = path.join(tmp, 'no-slurmrestd.socket');
    await page.fill(tid('cl-name'), 'local-slurm');
    await page.fill(tid('cl-endpoint'), `unix:${gone}`);
    await page.fill(tid('cl-user'), 'nobody');
    await page.fill(tid('cl-token'), TOKEN);
    await page.fill(tid('cl-sharedFolder'), shared);
    await page.fill(tid('cl-nodeCommand'), 'node /opt/selfemd/dist/cli/selfemd.mjs');
    await page.fill(tid('cl-timeLimitMinutes'), '15');
    await page.click(tid('cluster-save-test'));
    await page.waitForSelector(tid('cluster-checks-local-slurm'), { timeout: 30_000 });
    expect(await text('cluster-local-slurm')).toContain('token stored');
    expect(await page.getAttribute(tid('cluster-checks-local-slurm'), 'data-ok')).toBe('false');
    expect(await text('check-slurmrestd')).toBe(
      `✗slurmrestd: slurmrestd did not answer at unix:${gone} (v0.0.38): slurmrestd GET /slurm/v0.0.38/ping (unix:${gone}): no socket there`,
    );
    expect(await text('check-shared-folder')).toBe(`✓shared folder: ${shared} is a writable folder here`);
    await shot(page, '51-clusters-test-failed');
    const [saved] = await server.call<SlurmClusterSummary[]>('clusters.list');
    expect(saved).toMatchObject({
      name: 'local-slurm',
      hasToken: true,
      timeLimitMinutes: 15,
      sharedFolder: shared,
    });
  }, 60_000);

  it('edits it without showing the token, and passes against the local Slurm', async (ctx) => {
    if (!socket) return ctx.skip();
    await page.click(tid('cluster-edit-local-slurm'));
    expect(await page.inputValue(tid('cl-token'))).toBe('');
    expect(await page.getAttribute(tid('cl-token'), 'placeholder')).toBe('(stored)');
    await page.fill(tid('cl-endpoint'), `unix:${socket}`);
    await page.fill(tid('cl-nodeCommand'), `${process.execPath} ${path.join(appDir, 'cli.mjs')}`);
    // slurmrestd on a local socket authenticates by its own (local) auth: no JWT
    await page.check(tid('cl-remove-token'));
    await page.click(tid('cluster-save-test'));
    await page.waitForSelector(`${tid('cluster-checks-local-slurm')}[data-ok="true"]`, { timeout: 30_000 });
    expect(await text('check-slurmrestd')).toMatch(
      new RegExp(
        `^✓slurmrestd: slurmrestd answered at unix:${socket} \\(v0\\.0\\.38\\): Slurm 22\\.05\\.\\d+, slurmctld \\S+ UP$`,
      ),
    );
    expect(await text('check-job-user')).toMatch(
      /^✓job user: nobody \(uid \d+\), whom jobs run as, can write to /,
    );
    expect(await text('cluster-local-slurm')).toContain('no token');
    await shot(page, '52-clusters-test-passed');
  }, 60_000);

  it("runs a tiny pretraining there, its Slurm job in the run's detail", async (ctx) => {
    if (!socket) return ctx.skip();
    const datasets = await server.call<{ id: number; name: string }[]>('datasets.list');
    const run = await server.call<RunRecord>('runs.start', {
      method: 'byol',
      datasetId: datasets.find((d) => /train/.test(d.name))!.id,
      config: { ...TINY_PRETRAIN, method: 'byol', optim: { ...TINY_PRETRAIN.optim, epochs: 1 } },
      on: 'local-slurm',
    });
    await page.goto(`${server.origin}/#/runs/${run.id}`);
    await page.waitForSelector(tid('run-execution'));
    expect(await text('run-execution')).toMatch(/^Slurm local-slurm · (submitting|job \d+)/);
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent?.includes('COMPLETED'),
      tid('run-execution'),
      { timeout: 120_000 },
    );
    expect(await text('run-execution')).toMatch(/^Slurm local-slurm · job \d+ · COMPLETED$/);
    const done = await server.call<{ run: RunRecord }>('runs.get', { id: run.id });
    expect(done.run.status).toBe('completed');
    const [loss] = await server.call<{ key: string; points: unknown[] }[]>('metrics.get', {
      runId: run.id,
      keys: ['loss/total'],
    });
    expect(loss!.points).toHaveLength(done.run.totalSteps!);
    await shot(page, '54-run-on-slurm');
  }, 180_000);

  it('offers the cluster in the run forms, and removes it', async () => {
    await page.click(tid('nav-new-run'));
    await page.waitForSelector(tid('run-executor'));
    const options = await page.$$eval(`${tid('run-executor')} option`, (os) =>
      os.map((o) => o.textContent?.trim()),
    );
    expect(options).toEqual(['This machine', 'local-slurm (Slurm)']);
    await page.selectOption(tid('run-executor'), 'local-slurm');
    await page.waitForSelector(`text=Slurm at unix:`);
    await shot(page, '53-new-run-executor');

    await page.click(tid('nav-clusters'));
    await page.click(tid('cluster-remove-local-slurm'));
    await page.waitForSelector(tid('clusters-empty'));
    expect(await server.call<SlurmClusterSummary[]>('clusters.list')).toEqual([]);
  }, 60_000);

  it('never showed the token after it was typed', async () => {
    expect(await page.content()).not.toContain(TOKEN);
    expect(server.output()).not.toContain(TOKEN);
  });
});
