/**
 * Clusters through the studio API (StudioService.handle, as both transports call it): saved with
 * field-named refusals, listed without their token, the connection test's checks in words, `on`
 * checked against the configured clusters, and the token in no answer, event, log line or file the
 * studio writes besides the database.
 */
import * as fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StudioEvent } from '../../shared/api/events';
import type { ArgsOf } from '../../shared/api/methods';
import type { ClusterPing } from '../../src-main/jobs/service/cluster-check';
import { StudioService } from '../../src-main/jobs/studio-service';
import { tempHome } from './fixtures';
import { serviceCalls } from './service-calls';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.dG9rZW4tdGhhdC1tdXN0LW5vdC1sZWFr.SIG-9f8e7d';

let home: ReturnType<typeof tempHome>;
let service: StudioService;
const events: StudioEvent[] = [];
const answers: unknown[] = [];
const printed: string[] = [];
/** What the fake slurmrestd does next: answer, fail (quoting the request's token, as a careless client might), or hang. */
let slurmrestd: 'up' | 'down' | 'hang' = 'up';
const pings: string[] = [];
const ping: ClusterPing = (settings, signal) => {
  pings.push(settings.token ?? '(none)');
  if (slurmrestd === 'up') return Promise.resolve('slurmctld UP (Slurm 22.05.8)');
  if (slurmrestd === 'down')
    return Promise.reject(
      new Error(`connect ECONNREFUSED ${settings.endpoint} (X-SLURM-USER-TOKEN: ${settings.token})`),
    );
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
};

const { refusal } = serviceCalls(() => service);
/** Every answer is kept: the token must be in none of them. */
async function call<M extends Parameters<StudioService['handle']>[0] & string>(method: M, args: unknown) {
  const r = await service.handle(method, args);
  answers.push(r);
  if (!r.ok) throw new Error(`${method}: ${r.error.code}: ${r.error.message}`);
  return r.value as never;
}

const settings = (shared: string): ArgsOf<'clusters.save'> => ({
  name: 'lab-gpu',
  endpoint: 'https://slurm.lab.example:6820',
  apiVersion: 'v0.0.38',
  user: 'alice',
  token: TOKEN,
  partition: 'gpu',
  account: 'vision',
  timeLimitMinutes: 120,
  gres: 'gpu:1',
  cpusPerTask: 8,
  memoryMb: 32_000,
  sharedFolder: shared,
  nodeCommand: 'node /opt/selfemd/dist/cli/selfemd.mjs',
});

beforeAll(() => {
  home = tempHome();
  for (const stream of ['log', 'error', 'warn', 'info'] as const)
    vi.spyOn(console, stream).mockImplementation(
      (...a: unknown[]) => void printed.push(a.map(String).join(' ')),
    );
  service = StudioService.open({
    home: home.dir,
    transport: 'browser',
    version: 'test',
    pingCluster: ping,
    seedDemos: false,
  });
  service.on((e) => events.push(e));
});
afterAll(async () => {
  await service.close();
  vi.restoreAllMocks();
  home.cleanup();
});

describe('clusters in the studio API', () => {
  it('saves a cluster and lists it without its token', async () => {
    const shared = path.join(home.dir, 'shared');
    fs.mkdirSync(shared);
    const saved = await call('clusters.save', settings(shared));
    expect(saved).toMatchObject({ name: 'lab-gpu', kind: 'slurm', hasToken: true, gres: 'gpu:1' });
    expect(saved).not.toHaveProperty('token');
    const list: { name: string; hasToken: boolean }[] = await call('clusters.list', {});
    expect(list.map((c) => [c.name, c.hasToken])).toEqual([['lab-gpu', true]]);
    expect(events.some((e) => e.name === 'store.changed' && e.payload.tables.includes('clusters'))).toBe(
      true,
    );
  });

  it('refuses bad settings naming each field', async () => {
    const bad = await refusal('clusters.save', {
      ...settings('relative/folder'),
      name: 'Lab GPU',
      endpoint: 'slurm.lab:6820',
      cpusPerTask: 0,
      colour: 'red',
    });
    expect(bad.code).toBe('invalid');
    expect(bad.issues?.map((i) => i.path).sort()).toEqual([
      'args.colour',
      'args.cpusPerTask',
      'args.endpoint',
      'args.name',
      'args.sharedFolder',
    ]);
    expect(bad.message).toContain('endpoint must be http(s)://host:port or unix:/path/to/slurmrestd.socket');
    expect(bad.message).toContain('sharedFolder must be an absolute folder path');
    const reserved = await refusal('clusters.save', { ...settings('/srv'), name: 'local' });
    expect(reserved.message).toContain('"local" is reserved for this machine');
    // a header cannot be smuggled in through the token
    const header = await refusal('clusters.save', { ...settings('/srv'), token: 'abc\r\nX-Evil: 1' });
    expect(header.issues?.[0]?.path).toBe('args.token');
    expect(header.message).not.toContain('abc');
  });

  it('tests the connection: slurmrestd, then the shared folder, each in words', async () => {
    slurmrestd = 'up';
    const ok = (await call('clusters.test', { name: 'lab-gpu' })) as {
      ok: boolean;
      checks: { what: string; ok: boolean; message: string }[];
    };
    expect(ok.ok).toBe(true);
    expect(ok.checks.map((c) => [c.what, c.ok])).toEqual([
      ['slurmrestd', true],
      ['shared folder', true],
    ]);
    expect(ok.checks[0]!.message).toBe(
      'slurmrestd answered at https://slurm.lab.example:6820 (v0.0.38): slurmctld UP (Slurm 22.05.8)',
    );
    // the executor side got the token; the answer does not carry it
    expect(pings.at(-1)).toBe(TOKEN);

    slurmrestd = 'down';
    const missing = path.join(home.dir, 'not-mounted');
    const edit = { ...settings(missing) } as Partial<ArgsOf<'clusters.save'>>;
    delete edit.token;
    expect(((await call('clusters.save', edit)) as { hasToken: boolean }).hasToken).toBe(true);
    const down = (await call('clusters.test', { name: 'lab-gpu' })) as {
      ok: boolean;
      checks: { what: string; ok: boolean; message: string }[];
    };
    expect(down.ok).toBe(false);
    expect(down.checks[0]!.message).toContain('slurmrestd did not answer at https://slurm.lab.example:6820');
    expect(down.checks[0]!.message).toContain('X-SLURM-USER-TOKEN: [token]');
    expect(down.checks[1]!.message).toBe(
      `${missing} does not exist on this machine (mount the folder the nodes see, or create it)`,
    );
    // the edit kept the token: the ping still sent it
    expect(pings.at(-1)).toBe(TOKEN);

    const file = path.join(home.dir, 'a-file');
    fs.writeFileSync(file, 'x');
    await call('clusters.save', { ...settings(file), token: '' });
    slurmrestd = 'hang';
    const t0 = Date.now();
    const hung = (await call('clusters.test', { name: 'lab-gpu' })) as {
      checks: { what: string; ok: boolean; message: string }[];
    };
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(hung.checks.map((c) => [c.what, c.ok, c.message])).toEqual([
      [
        'slurmrestd',
        false,
        'slurmrestd did not answer at https://slurm.lab.example:6820 (v0.0.38): no answer within 8 s',
      ],
      ['token', false, expect.stringContaining('no token is stored: slurmrestd over https needs a JWT')],
      ['shared folder', false, `${file} is not a folder`],
    ]);
    await call('clusters.save', settings(path.join(home.dir, 'shared')));
  }, 30_000);

  it('checks `on` against the configured clusters before starting anything', async () => {
    const none = await refusal('runs.start', { method: 'byol', datasetId: 1, config: {}, on: 'no-such' });
    expect(none.code).toBe('not-found');
    expect(none.message).toBe('no cluster named "no-such"');
    expect(none.hint).toContain('lab-gpu');
    const badName = await refusal('runs.startFinetune', {
      init: 'random',
      trainDatasetId: 1,
      valDatasetId: 1,
      config: {},
      on: 'Not A Name',
    });
    expect(badName.issues?.[0]?.path).toBe('args.on');
    const study = await refusal('studies.estimate', {
      arms: ['random', 'byol'],
      seeds: 1,
      budget: 'smoke',
      data: { unlabeled: 'demo', train: 'demo', val: 'demo' },
      on: 'elsewhere',
    });
    expect(study.message).toBe('no cluster named "elsewhere"');
    expect(await service.store.listRuns()).toEqual([]);
  });

  it("shows a run's Slurm job in its details, and keeps a cluster that still executes a run", async () => {
    const store = service.store;
    const run = store.createRun({
      kind: 'pretrain',
      name: 'on the cluster',
      method: 'byol',
      backbone: 'resnet18',
      config: {},
    });
    store.beginExecution(run.id, 'lab-gpu', path.join(home.dir, 'events.jsonl'));
    store.updateExecution(run.id, { jobId: '4242', state: 'PENDING', reason: 'Resources' });
    store.updateRunStatus(run.id, 'running', { pid: null });
    const details = (await call('runs.get', { id: run.id })) as { execution: Record<string, unknown> | null };
    expect(details.execution).toMatchObject({
      runId: run.id,
      executor: 'lab-gpu',
      jobId: '4242',
      state: 'PENDING',
      reason: 'Resources',
    });
    // the supervisor's bookkeeping stays on this side
    expect(Object.keys(details.execution!).sort()).toEqual([
      'executor',
      'jobId',
      'reason',
      'runId',
      'state',
      'updatedAt',
    ]);
    const held = await refusal('clusters.remove', { name: 'lab-gpu' });
    expect(held.code).toBe('conflict');
    expect(held.message).toBe('cluster "lab-gpu" is executing 1 run(s) ("on the cluster")');
    store.updateRunStatus(run.id, 'paused', { pid: null });
  });

  it('removes a cluster; unknown names are not found', async () => {
    await call('clusters.remove', { name: 'lab-gpu' });
    expect(await call('clusters.list', {})).toEqual([]);
    expect((await refusal('clusters.remove', { name: 'lab-gpu' })).code).toBe('not-found');
    expect((await refusal('clusters.test', { name: 'lab-gpu' })).message).toBe('no cluster named "lab-gpu"');
  });

  it('never lets the token out: not in an answer, an event, a printed line, or a file besides the database', () => {
    expect(pings.filter((t) => t === TOKEN).length).toBeGreaterThan(1);
    expect(JSON.stringify(answers)).not.toContain(TOKEN);
    expect(JSON.stringify(events)).not.toContain(TOKEN);
    expect(printed.join('\n')).not.toContain(TOKEN);
    const files = fs
      .readdirSync(home.dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && !/^studio\.db(-wal|-shm)?$/.test(e.name))
      .map((e) => path.join(e.parentPath, e.name));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(fs.readFileSync(f, 'latin1'), f).not.toContain(TOKEN);
  });
});
