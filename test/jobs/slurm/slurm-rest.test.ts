/**
 * The slurmrestd client: what it sends (route, JWT headers, the job's properties), how it reads
 * answers and Slurm's `errors`, and that the token never shows in an error; then ping against the
 * real local Slurm when one can start.
 */
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlurmRestClient, SlurmRestError } from '../../../src-main/jobs/slurm/slurm-rest';
import { localSlurm } from './local-slurm';
import { tempDir } from '../../temp-dir';

const TOKEN = 'eyJ-secret-token-value';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('SlurmRestClient over http (a recording slurmrestd double)', () => {
  let server: http.Server;
  let url: string;
  const seen: Seen[] = [];
  let answer: (req: Seen) => { status: number; body: unknown } = () => ({ status: 200, body: {} });

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const s = { method: req.method!, url: req.url!, headers: req.headers, body };
        seen.push(s);
        const a = answer(s);
        res.writeHead(a.status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(a.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/prefix`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const client = () =>
    new SlurmRestClient({ endpoint: url, apiVersion: 'v0.0.38', user: 'alice', token: TOKEN });

  it('submits a batch job with JWT headers and Slurm property names', async () => {
    answer = () => ({ status: 200, body: { errors: [], job_id: 42, step_id: 'BATCH' } });
    const id = await client().submit({
      script: '#!/bin/sh\ntrue',
      name: 'run-x',
      currentWorkingDirectory: '/shared/runs/x',
      standardOutput: '/shared/runs/x/slurm-%j.out',
      environment: { PATH: '/usr/bin' },
      partition: 'gpu',
      timeLimitMinutes: 30,
      cpusPerTask: 4,
      memoryMb: 8000,
      gres: 'gpu:1',
      signal: 'USR1@90',
      requeue: true,
    });
    expect(id).toBe('42');
    const req = seen.at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/prefix/slurm/v0.0.38/job/submit');
    expect(req.headers['x-slurm-user-name']).toBe('alice');
    expect(req.headers['x-slurm-user-token']).toBe(TOKEN);
    const sent = JSON.parse(req.body) as { script: string; job: Record<string, unknown> };
    expect(sent.script).toBe('#!/bin/sh\ntrue');
    expect(sent.job).toMatchObject({
      name: 'run-x',
      current_working_directory: '/shared/runs/x',
      partition: 'gpu',
      time_limit: 30,
      cpus_per_task: 4,
      memory_per_node: 8000,
      gres: 'gpu:1',
      signal: 'USR1@90',
      requeue: true,
    });
  });

  it('reads a job: state, reason, the packed exit code decoded, restarts', async () => {
    answer = () => ({
      status: 200,
      body: {
        errors: [],
        jobs: [
          { job_id: 7, job_state: 'FAILED', state_reason: 'NonZeroExitCode', exit_code: 768, restart_cnt: 2 },
        ],
      },
    });
    const job = await client().job('7');
    expect(job).toMatchObject({
      jobId: '7',
      state: 'FAILED',
      reason: 'NonZeroExitCode',
      exitCode: 3,
      restartCount: 2,
    });
    expect(seen.at(-1)!.url).toBe('/prefix/slurm/v0.0.38/job/7');
  });

  it('cancels, or only signals, with DELETE', async () => {
    answer = () => ({ status: 200, body: { errors: [] } });
    await client().cancel('9', 'USR1');
    expect(seen.at(-1)).toMatchObject({ method: 'DELETE', url: '/prefix/slurm/v0.0.38/job/9?signal=USR1' });
    await client().cancel('9');
    expect(seen.at(-1)!.url).toBe('/prefix/slurm/v0.0.38/job/9');
  });

  it("turns Slurm's errors and HTTP errors into SlurmRestError without the token, even when echoed", async () => {
    answer = () => ({
      status: 500,
      body: {
        errors: [{ error: 'Invalid job id specified', description: `Unable to find job (token ${TOKEN})` }],
      },
    });
    const e = await client()
      .job('1')
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SlurmRestError);
    expect((e as Error).message).toMatch(/Invalid job id specified/);
    expect((e as Error).message).not.toContain(TOKEN);
    expect((e as SlurmRestError).status).toBe(500);
    answer = () => ({ status: 401, body: `bad token ${TOKEN}` });
    const e2 = await client()
      .ping()
      .catch((x: unknown) => x);
    expect((e2 as Error).message).toMatch(/HTTP 401/);
    expect((e2 as Error).message).not.toContain(TOKEN);
    expect(JSON.stringify(e2)).not.toContain(TOKEN);
    // The body is cut to 200 characters after masking: a cut through the token leaks none of it.
    answer = () => ({ status: 401, body: `${'x'.repeat(190)}${TOKEN}` });
    const e3 = await client()
      .ping()
      .catch((x: unknown) => x);
    expect((e3 as Error).message).not.toContain(TOKEN.slice(0, 10));
  });

  it('names a bad endpoint or an absent socket', async () => {
    expect(() => new SlurmRestClient({ endpoint: 'ftp://x', apiVersion: 'v0.0.38', user: 'u' })).toThrow(
      /protocol ftp:/,
    );
    expect(() => new SlurmRestClient({ endpoint: 'unix:rel', apiVersion: 'v0.0.38', user: 'u' })).toThrow(
      /absolute/,
    );
    expect(() => new SlurmRestClient({ endpoint: url, apiVersion: '38', user: 'u' })).toThrow(
      /apiVersion 38/,
    );
    const missing = path.join(tempDir('selfemd-slurm-'), 'none.socket');
    const gone = new SlurmRestClient({ endpoint: `unix:${missing}`, apiVersion: 'v0.0.38', user: 'u' });
    await expect(gone.ping()).rejects.toThrow(/no socket there/);
  });
});

describe('SlurmRestClient against the local Slurm', () => {
  let socket: string | null = null;
  beforeAll(async () => {
    socket = await localSlurm('slurm-rest.test.ts (local Slurm ping)');
  }, 130_000);

  it('pings slurmctld through slurmrestd over its unix socket', async (ctx) => {
    if (!socket) return ctx.skip();
    const ping = await new SlurmRestClient({
      endpoint: `unix:${socket}`,
      apiVersion: 'v0.0.38',
      user: 'nobody',
    }).ping();
    expect(ping.release).toMatch(/^\d+\.\d+\.\d+$/);
    expect(ping.controllers.map((c) => c.ping)).toContain('UP');
  });
});
